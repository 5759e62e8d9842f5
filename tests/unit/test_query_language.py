"""Nakama's query language: the syntax of match-label and matchmaker queries, and what matches."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from nakama_py.core.query import FieldValue, QuerySyntaxError, flatten, parse_query


def doc(**properties: object) -> dict[str, FieldValue]:
    return flatten(properties, "properties")


def matches(query: str, document: dict[str, FieldValue]) -> bool:
    return parse_query(query).matches(document)


# --- flatten: a JSON value as Nakama indexes it ---

def test_flatten_names_fields_by_their_path_and_makes_numbers_floats() -> None:
    assert flatten({"mode": "race", "skill": 5}, "label") == {"label.mode": "race", "label.skill": 5.0}
    assert flatten({"a": {"b": {"c": "x"}}}, "label") == {"label.a.b.c": "x"}
    assert flatten({"a": 1}, "") == {"a": 1.0}


def test_flatten_makes_arrays_multi_valued_and_drops_nulls() -> None:
    assert flatten({"ids": ["x", "y"], "one": ["z"], "none": None, "empty": []}, "label") == {
        "label.ids": ("x", "y"), "label.one": "z"}
    assert flatten({"teams": [{"name": "a"}, {"name": "b"}]}, "label") == {"label.teams.name": ("a", "b")}


def test_flatten_indexes_booleans_as_t_and_f_and_dates_as_dates() -> None:
    flat = flatten({"open": True, "closed": False, "at": "2026-01-02T03:04:05Z", "day": "2026-01-02"}, "l")
    assert flat["l.open"] == "T" and flat["l.closed"] == "F"
    assert flat["l.at"] == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert flat["l.day"] == datetime(2026, 1, 2, tzinfo=UTC)
    assert flatten({"x": "2026-13-45"}, "l") == {"l.x": "2026-13-45"}  # not a date: a keyword


# --- nakama-js's matchmaker and match-list queries ---

def test_nakama_js_basic_match_queries_each_other_ticket() -> None:
    a, b = doc(a3="baz"), doc(a3="bar")
    assert matches("properties.a3:bar", b) and matches("properties.a3:baz", a)
    assert not matches("properties.a5:bar", doc(a5="baz"))


def test_nakama_js_range_and_value_queries() -> None:
    query = "+properties.c1:>=10 +properties.c1:<=20 +properties.c2:foo"
    assert matches(query, doc(c1=15, c2="foo"))
    assert matches(query, doc(c1=10, c2="foo")) and matches(query, doc(c1=20, c2="foo"))
    assert not matches(query, doc(c1=25, c2="foo"))
    assert not matches(query, doc(c1=15, c2="bar"))
    assert not matches(query, doc(c2="foo"))


def test_nakama_js_match_list_queries() -> None:
    assert matches("+label.skill:>=50", flatten({"skill": 60}, "label"))
    assert not matches("+label.skill:>=50", flatten({"skill": 40}, "label"))
    ids = ["5b4c1e2a-0d1f-4a36-9c1e-0b7e1f2a3c4d", "0e6f8a2b-3c4d-4e5f-8a9b-1c2d3e4f5a6b", "x"]
    assert matches(f"+label.convo_ids:{ids[1]}", flatten({"convo_ids": ids}, "label"))
    assert not matches("+label.convo_ids:other", flatten({"convo_ids": ids}, "label"))


# --- must, should, must not (Bluge's boolean rules) ---

def test_only_should_clauses_need_one_of_them() -> None:
    query = "properties.region:eu properties.region:us"
    assert matches(query, doc(region="eu")) and matches(query, doc(region="us"))
    assert not matches(query, doc(region="asia"))


def test_should_clauses_are_optional_next_to_a_must_but_add_to_the_score() -> None:
    query = parse_query("+properties.mode:race properties.region:eu")
    assert query.matches(doc(mode="race", region="us"))
    assert query.score(doc(mode="race", region="eu")) > query.score(doc(mode="race", region="us")) > 0
    assert not query.matches(doc(region="eu"))


def test_must_not_excludes_and_alone_matches_everything_else() -> None:
    assert matches("-properties.mode:race", doc(mode="solo"))
    assert matches("-properties.mode:race", doc())
    assert not matches("-properties.mode:race", doc(mode="race"))
    assert not matches("+properties.skill:>1 -properties.mode:race", doc(skill=5, mode="race"))
    assert parse_query("-properties.mode:race").score(doc()) == 1.0


def test_a_multi_valued_field_matches_when_any_value_does() -> None:
    d = flatten({"maps": ["a", "b"], "levels": [1, 9]}, "label")
    assert matches("+label.maps:b", d)
    assert matches("+label.levels:>5", d) and matches("+label.levels:<5", d)
    assert not matches("+label.levels:>10", d)


# --- values: numbers, strings, booleans, phrases, wildcards, regexps, fuzzy, dates ---

def test_numbers_match_numeric_values_and_the_keyword_of_their_text() -> None:
    assert matches("properties.skill:5", doc(skill=5))
    assert matches("properties.skill:5.0", doc(skill=5))
    assert matches("properties.code:5", doc(code="5"))
    assert not matches("properties.code:5.0", doc(code="5"))
    assert matches("properties.t:-3", doc(t=-3)) and matches("properties.t:>-4", doc(t=-3))
    assert not matches("properties.t:<=-4", doc(t=-3))


def test_range_bounds_are_strict_or_inclusive() -> None:
    assert not matches("properties.n:>10", doc(n=10)) and matches("properties.n:>=10", doc(n=10))
    assert not matches("properties.n:<10", doc(n=10)) and matches("properties.n:<=10", doc(n=10))
    assert matches("properties.n:<10.5", doc(n=10))


def test_terms_compare_whole_values_case_sensitively() -> None:
    assert matches("properties.mode:race", doc(mode="race"))
    assert not matches("properties.mode:Race", doc(mode="race"))
    assert not matches("properties.mode:rac", doc(mode="race"))
    assert not matches("properties.n:abc", doc(n=5))
    assert not matches("properties.s:>1", doc(s="5"))  # a range only reads numeric values


def test_booleans_are_the_keywords_t_and_f() -> None:
    assert matches("+label.open:T", flatten({"open": True}, "label"))
    assert matches("+label.open:F", flatten({"open": False}, "label"))
    assert not matches("+label.open:true", flatten({"open": True}, "label"))


def test_a_phrase_is_one_whole_value_with_spaces() -> None:
    assert matches('properties.name:"red team"', doc(name="red team"))
    assert not matches('properties.name:"red"', doc(name="red team"))
    assert matches(r'properties.name:"say \"hi\""', doc(name='say "hi"'))


def test_wildcards_and_regular_expressions() -> None:
    assert matches("properties.map:des*", doc(map="desert"))
    assert matches("properties.map:d?sert", doc(map="desert"))
    assert not matches("properties.map:des?", doc(map="desert"))
    assert matches("properties.map:/de.*t/", doc(map="desert"))
    assert not matches("properties.map:/de/", doc(map="desert"))


def test_fuzzy_terms_allow_edits() -> None:
    assert matches("properties.map:desrt~", doc(map="desert"))
    assert not matches("properties.map:dsrt~1", doc(map="desert"))
    assert matches("properties.map:dsrt~2", doc(map="desert"))


def test_date_ranges_read_rfc3339_phrases() -> None:
    d = flatten({"at": "2026-05-01T10:00:00Z"}, "label")
    assert matches('+label.at:>"2026-01-01T00:00:00Z"', d)
    assert matches('+label.at:<="2026-05-01T12:00:00+02:00"', d)
    assert not matches('+label.at:<"2026-05-01T10:00:00Z"', d)
    assert not matches("+label.at:2026", d)


def test_escapes_keep_reserved_characters_in_a_term() -> None:
    assert matches(r"properties.k:a\:b", doc(k="a:b"))
    assert matches(r"properties.k:a\ b", doc(k="a b"))
    # A backslash before a character that is not reserved stays (Bluge's rule).
    assert matches(r"properties.k:a\.b", doc(k="a\\.b"))
    assert not matches(r"properties.k:a\.b", doc(k="a.b"))


def test_hyphens_inside_a_term_are_characters() -> None:
    assert matches("properties.id:ab-cd", doc(id="ab-cd"))


def test_a_term_without_field_matches_nothing_as_in_nakama() -> None:
    # Nakama's index has no "_all" field, which Bluge searches for a term without a field.
    assert not matches("race", doc(mode="race"))
    assert matches("+properties.mode:race race", doc(mode="race"))  # an optional should


def test_star_matches_everything_and_empty_matches_nothing() -> None:
    assert matches("*", doc()) and matches("*", doc(a=1))
    assert not matches("", doc(a=1))


def test_boosts_weigh_the_score() -> None:
    query = parse_query("properties.region:eu^5 properties.mode:race")
    assert query.score(doc(region="eu")) == 5.0
    assert query.score(doc(mode="race")) == 1.0
    assert query.score(doc(region="eu", mode="race")) == 6.0
    assert query.score(doc(region="us")) == 0.0
    assert parse_query("+properties.n:>=1^2").score(doc(n=3)) == 2.0


def test_parentheses_are_not_grouping_they_belong_to_the_term() -> None:
    assert matches("properties.k:(a)", doc(k="(a)"))


@pytest.mark.parametrize("text", [
    'properties.a:"unterminated',
    "properties.a:",
    "properties.a:>",
    "properties.a:>=x",
    "properties.a:+b",
    "properties.a:-b",
    "^2",
    "properties.a:b^x",
    "properties.a:b~x",
    "properties.a:b~3",
    "properties.a:/[/",
    '+properties.at:>"2026-01-01"',
    "5~",
    "   ",
])
def test_invalid_queries_are_refused_with_a_syntax_error(text: str) -> None:
    with pytest.raises(QuerySyntaxError):
        parse_query(text)


def test_syntax_errors_are_value_errors_that_say_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="unterminated quote"):
        parse_query('a:"b')
    with pytest.raises(ValueError, match="invalid boost value"):
        parse_query("a:b^x")


def test_constant_scores_and_required_terms_let_an_index_skip_scoring() -> None:
    assert parse_query("+a:b +c:>1").constant_score == 2.0
    assert parse_query("+a:b^3 -c:d").constant_score == 3.0
    assert parse_query("*").constant_score == 1.0
    assert parse_query("a:b c:d").constant_score is None  # optional clauses: the score varies
    assert parse_query("+a:5").constant_score is None  # a number is a keyword or a numeric match
    assert [(t.field, t.text) for t in parse_query("+a:b +c:>1 d:e -f:g +h:i*").required_terms] == [("a", "b")]
