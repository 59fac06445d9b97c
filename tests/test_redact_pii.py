"""The redact_pii macro (dbt_project/macros/portable/redact_pii.sql) on the ways people write
e-mail addresses and phone numbers in Europe and North America, and on the ordinary numbers a
comment holds that must survive (dates, amounts, ids, scores, versions).

Both implementations are checked on the same examples, compiled by dbt itself:
- DuckDB's (`redact_pii` on this project's adapter), run in DuckDB;
- Spark's (`spark__redact_pii`): its string literals are read the way Spark's SQL parser reads
  them (a backslash escapes the next character), and the patterns that reach the regex engine
  run in Java's java.util.regex, the engine Spark's regexp_replace uses (skipped without `java`).
"""

from __future__ import annotations

import re
import shutil
import subprocess

import duckdb
import pytest

from tests.dbt_inline import compile_inline

# (text, redacted text): the cases first
POSITIVES = [
    ("UK office 020 7946 0958, ask for Jo", "UK office [phone], ask for Jo"),
    ("mon portable: 06 12 34 56 78 merci", "mon portable: [phone] merci"),
    ("Rückruf bitte unter 0171/1234567.", "Rückruf bitte unter [phone]."),
    ("from abroad 0044 20 7946 0958 after 5", "from abroad [phone] after 5"),
    ("schreiben Sie an jürgen.müller@beispiel.de bitte", "schreiben Sie an [email] bitte"),
    ("écrivez à françois@société.fr", "écrivez à [email]"),
    ("Call me at +44 20 7946 0958 or (555) 123-4567, mail jo.doe@acme.io!",
     "Call me at [phone] or [phone], mail [email]!"),
    ("Handy +49 (0)171 1234567", "Handy [phone]"),
    ("Tel. (0171) 1234567 oder 030-12345678", "Tel. [phone] oder [phone]"),
    ("mobile 07700 900123", "mobile [phone]"),
    ("06.12.34.56.78 ou +33 6 12 34 56 78", "[phone] ou [phone]"),
    ("rang 555.123.4567 and 0612345678", "rang [phone] and [phone]"),
]

# Ordinary numbers in comments: kept as they are.
NEGATIVES = [
    "Fixed on 2024-01-05 in v1.2.3, order 1234",
    "since 05.01.2024 and until 31.12.2024",
    "invoice from 2024/01/05, paid 05/01/2024 10:30",
    "we pay 1.234.567,89 € a year (12,345.00 EUR a month)",
    "budget € 12 345 678 for 1 500 000 users",
    "ticket #48213 on account ACC-00042",
    "score 9/10, 3.5/5 stars, NPS 10, 10 out of 10",
    "took 45 min, open 09:00-17:00, customer 2019-2024",
    "99.9 % uptime, invoice 2024-0042, id 20240105-17",
    "renewal 01.03.2025 at 0.95 of list, version 10.0.19045",
    "dates like 05 01 2024 stay",
]

SPARK_SINGLE_ESCAPES = {"0": "\0", "'": "'", '"': '"', "b": "\b", "n": "\n", "r": "\r", "t": "\t",
                        "Z": "\x1a", "\\": "\\", "%": "\\%", "_": "\\_"}


def spark_unescape(literal: str) -> str:
    """What Spark's SQL parser makes of the body of a '...' string literal
    (ParserUtils.unescapeSQLString, with spark.sql.parser.escapedStringLiterals=false)."""
    out, i = [], 0
    while i < len(literal):
        ch = literal[i]
        if ch == "\\" and i + 1 < len(literal):
            nxt = literal[i + 1]
            out.append(SPARK_SINGLE_ESCAPES.get(nxt, nxt))  # any other escaped character: itself
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _literals(sql: str) -> list[str]:
    """The bodies of the single-quoted literals of `sql`, in order ('' inside one: a quote)."""
    return [m.replace("''", "'") for m in re.findall(r"'((?:[^']|'')*)'", sql)]


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    sql = compile_inline(
        tmp_path_factory.mktemp("redact"),
        "{{ redact_pii('txt') }}\n-- spark --\n{{ spark__redact_pii('txt') }}",
    )
    duck, spark = sql.split("-- spark --")
    return duck.strip(), spark.strip()


def _duckdb_redact(expression: str, texts: list[str]) -> list[str]:
    con = duckdb.connect()
    try:
        con.execute("create table t (i integer, txt varchar)")
        con.executemany("insert into t values (?, ?)", list(enumerate(texts)))
        return [r[0] for r in con.execute(f"select {expression} from t order by i").fetchall()]
    finally:
        con.close()


def test_duckdb_redacts_european_and_american_formats(compiled):
    duck, _ = compiled
    got = _duckdb_redact(duck, [text for text, _ in POSITIVES])
    assert {t: g for (t, _), g in zip(POSITIVES, got, strict=True)} == dict(POSITIVES)


def test_duckdb_keeps_dates_amounts_ids_and_scores(compiled):
    duck, _ = compiled
    assert _duckdb_redact(duck, NEGATIVES) == NEGATIVES


def test_spark_literals_reach_the_regex_engine_intact(compiled):
    """Spark's implementation, read as Spark reads it, gives the very patterns DuckDB runs (a
    pattern written with single backslashes would reach Java as `b00`, a backspace, ...)."""
    duck, spark = compiled
    duck_patterns = [lit for lit in _literals(duck) if lit not in ("[email]", "[phone]", "g")]
    spark_patterns = [spark_unescape(lit) for lit in _literals(spark) if lit not in ("[email]", "[phone]")]
    assert len(duck_patterns) == 2 and spark_patterns == duck_patterns
    assert spark_unescape(duck_patterns[1]) != duck_patterns[1]  # why the Spark one doubles them


JAVA_REDACT = """
import java.io.*;
import java.nio.charset.StandardCharsets;
public class Redact {
    public static void main(String[] a) throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String email = in.readLine(), phone = in.readLine();
        PrintStream out = new PrintStream(System.out, true, "UTF-8");
        for (String line; (line = in.readLine()) != null; ) {
            out.println(line.replaceAll(email, "[email]").replaceAll(phone, "[phone]"));
        }
    }
}
"""


def test_spark_patterns_in_javas_regex_engine(compiled, tmp_path):
    java = shutil.which("java")
    if java is None:
        pytest.skip("no `java` on PATH: Spark's patterns are checked in java.util.regex when it is present")
    _, spark = compiled
    email, phone = [spark_unescape(lit) for lit in _literals(spark) if lit not in ("[email]", "[phone]")]
    source = tmp_path / "Redact.java"
    source.write_text(JAVA_REDACT)
    texts = [text for text, _ in POSITIVES] + NEGATIVES
    proc = subprocess.run(
        [java, str(source)], input="\n".join([email, phone, *texts]) + "\n",
        capture_output=True, text=True, encoding="utf-8", timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    got = proc.stdout.splitlines()
    assert got == [want for _, want in POSITIVES] + NEGATIVES
