"""Both databases leadbridge supports are reachable the way the store will reach them."""

from __future__ import annotations

import sqlalchemy as sa


def test_database_round_trip(database_url: str) -> None:
    engine = sa.create_engine(database_url)
    table = sa.Table("ci_round_trip", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True))
    try:
        with engine.begin() as connection:
            table.drop(connection, checkfirst=True)
            table.create(connection)
            connection.execute(table.insert(), [{"id": 1}, {"id": 2}])
            assert connection.execute(sa.select(sa.func.count()).select_from(table)).scalar() == 2
            table.drop(connection)
    finally:
        engine.dispose()
