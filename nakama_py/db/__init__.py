"""Database access: the connection pool, migrations, the embedded PostgreSQL, and the SQL of each feature."""
