FROM python:3.11-slim
WORKDIR /nakama
COPY pyproject.toml README.md constraints.txt ./
COPY nakama_py ./nakama_py
COPY sql ./sql
RUN rm -f nakama_py/sql && cp -r sql nakama_py/sql && pip install --no-cache-dir -c constraints.txt . \
    && useradd --system --no-create-home nakama && mkdir -p /nakama/data && chown nakama /nakama/data
COPY runtime_modules ./runtime_modules
COPY config ./config
USER nakama
EXPOSE 7350 7351 9100
HEALTHCHECK --interval=10s --timeout=3s CMD ["nakama-py", "healthcheck", "7350"]
ENTRYPOINT ["nakama-py"]
CMD ["serve", "--config", "/nakama/config/nakama-py.yml"]
