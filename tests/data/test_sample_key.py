"""`data.engines.sample_key` on DuckDB (Spark's equal keys: tests/spark/test_rca_parity.py): wide records of
extreme integers without an overflow, NULL told from zero, floats left out, a share by text comparison; the key
of a record id."""

from __future__ import annotations

import duckdb

from data.engines import key_below, sample_key


def test_wide_records_of_extreme_integers_do_not_overflow():
    con = duckdb.connect()
    # every value's residue the largest (2^31 - 2): 600 columns' terms sum beyond 2^63 unless reduced in parts
    con.execute("CREATE TABLE records AS SELECT " + ", ".join(
        f"CAST({2 ** 31 - 2 + (2 ** 31 - 1) * (i % 3)} AS BIGINT) AS c{i}" for i in range(600)))
    (key,) = con.execute(f"SELECT {sample_key({f'c{i}': 'BIGINT' for i in range(600)}, 1)} FROM records").fetchone()
    assert len(key) == 32 and int(key, 16) >= 0


def test_null_zero_and_floats():
    con = duckdb.connect()
    con.execute("CREATE TABLE records AS SELECT * FROM (VALUES (1, 0, 'a', 0.5), (2, NULL, 'a', 0.5), "
                "(3, 0, 'a', 0.25), (4, 0, NULL, 0.5)) AS t(k, n, s, x)")
    columns = {"n": "INTEGER", "s": "VARCHAR", "x": "DOUBLE"}
    keys = dict(con.execute(f"SELECT k, {sample_key(columns, 0)} FROM records").fetchall())
    assert keys[1] != keys[2] and keys[1] != keys[4]  # NULL is not 0, nor a missing text
    assert keys[1] == keys[3]  # records that differ only in a float share a key (ties: by the selected values)
    assert keys[1] != dict(con.execute(f"SELECT k, {sample_key(columns, 1)} FROM records").fetchall())[1]


def test_a_share_is_the_keys_below_it():
    con = duckdb.connect()
    con.execute("CREATE TABLE records AS SELECT range AS id FROM range(20000)")
    key = sample_key({"id": "BIGINT"}, 3)
    share = con.execute(f"SELECT avg(CASE WHEN {key_below(key, 0.3)} THEN 1 ELSE 0 END) FROM records").fetchone()[0]
    assert abs(share - 0.3) < 0.015  # 4.6 standard errors of 20,000 draws
    assert key_below(key, 1.0) == "TRUE"
    assert con.execute(f"SELECT count(*) FROM records WHERE {key_below(key, 0.0)}").fetchone()[0] == 0


def test_a_record_id_is_the_key_and_a_null_id_falls_back_to_the_whole_record():
    con = duckdb.connect()
    con.execute("CREATE TABLE records AS SELECT * FROM (VALUES (1, 'a', 10), (2, 'a', 10), (NULL, 'a', 10), "
                "(NULL, 'b', 10)) AS t(id, s, n)")
    columns = {"id": "BIGINT", "s": "VARCHAR", "n": "INTEGER"}
    keys = [k for (k,) in con.execute(f"SELECT {sample_key(columns, 5, 'id')} FROM records").fetchall()]
    assert keys[0] != keys[1]  # same values, other ids: other keys
    assert keys[0] == con.execute("SELECT md5('5|id|1')").fetchone()[0]  # the seed and the id alone
    whole = [k for (k,) in con.execute(f"SELECT {sample_key(columns, 5)} FROM records").fetchall()]
    assert keys[2:] == whole[2:] and keys[2] != keys[3]  # no id: the whole record's key, as without records.id
    other = [k for (k,) in con.execute(f"SELECT {sample_key(columns, 6, 'id')} FROM records").fetchall()]
    assert not set(other) & set(keys)


def test_a_share_of_the_id_keys_is_uniform():
    con = duckdb.connect()
    con.execute("CREATE TABLE records AS SELECT range AS id, 'same' AS s FROM range(20000)")
    key = sample_key({"id": "BIGINT", "s": "VARCHAR"}, 3, "id")
    share = con.execute(f"SELECT avg(CASE WHEN {key_below(key, 0.3)} THEN 1 ELSE 0 END) FROM records").fetchone()[0]
    assert abs(share - 0.3) < 0.015  # 4.6 standard errors of 20,000 draws
