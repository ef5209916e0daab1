"""Trino's types as the engine tracks them: names (typeof), DuckDB storage, ColumnInfo, Glue types,
and Trino's implicit coercions and common super types. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from orders_pipeline.local_stack.athena.errors import AthenaError

INTEGER_RANKS = {"tinyint": 0, "smallint": 1, "integer": 2, "bigint": 3}
INTEGER_DIGITS = {"tinyint": 3, "smallint": 5, "integer": 10, "bigint": 19}
INTEGER_RANGE = {
    "tinyint": (-(2**7), 2**7 - 1),
    "smallint": (-(2**15), 2**15 - 1),
    "integer": (-(2**31), 2**31 - 1),
    "bigint": (-(2**63), 2**63 - 1),
}
MAX_DECIMAL = 38
DAY_SECOND = "interval day to second"
YEAR_MONTH = "interval year to month"


@dataclass(frozen=True)
class T:
    """A Trino type: `name` plus its parameters (decimal (p, s); varchar/char (n,) or ();
    time/timestamp/timestamptz (p,); array (element,); map (key, value); row ((field, T), ...),
    a field None when the row is anonymous)."""

    name: str
    params: tuple = ()

    # --- kinds ------------------------------------------------------------------------------
    @property
    def is_integer(self) -> bool:
        return self.name in INTEGER_RANKS

    @property
    def is_exact(self) -> bool:
        return self.is_integer or self.name == "decimal"

    @property
    def is_numeric(self) -> bool:
        return self.is_exact or self.name in ("real", "double")

    @property
    def is_string(self) -> bool:
        return self.name in ("varchar", "char")

    @property
    def is_unknown(self) -> bool:
        return self.name == "unknown"

    @property
    def is_interval(self) -> bool:
        return self.name in (DAY_SECOND, YEAR_MONTH)

    @property
    def precision(self) -> int:
        return self.params[0]

    @property
    def scale(self) -> int:
        return self.params[1]

    @property
    def element(self) -> T:
        return self.params[0]

    @property
    def key(self) -> T:
        return self.params[0]

    @property
    def value(self) -> T:
        return self.params[1]

    @property
    def fields(self) -> tuple[tuple[str | None, T], ...]:
        return self.params

    # --- names ------------------------------------------------------------------------------
    def __str__(self) -> str:
        """The name typeof() gives."""
        n = self.name
        if n == "decimal":
            return f"decimal({self.precision},{self.scale})"
        if n in ("varchar", "char"):
            return f"{n}({self.params[0]})" if self.params else n
        if n in ("time", "timestamp"):
            return f"{n}({self.params[0]})"
        if n == "timestamptz":
            return f"timestamp({self.params[0]}) with time zone"
        if n == "array":
            return f"array({self.element})"
        if n == "map":
            return f"map({self.key}, {self.value})"
        if n == "row":
            return "row(" + ", ".join(f"{f} {t}" if f else str(t) for f, t in self.fields) + ")"
        return n

    def duck(self) -> str:
        """The DuckDB type holding this type's values."""
        n = self.name
        simple = {
            "boolean": "BOOLEAN", "tinyint": "TINYINT", "smallint": "SMALLINT",
            "integer": "INTEGER", "bigint": "BIGINT", "real": "FLOAT", "double": "DOUBLE",
            "varchar": "VARCHAR", "char": "VARCHAR", "varbinary": "BLOB", "json": "JSON",
            "date": "DATE", "time": "TIME", "timestamp": "TIMESTAMP", DAY_SECOND: "INTERVAL",
            YEAR_MONTH: "INTERVAL", "unknown": "INTEGER", "uuid": "UUID",
        }  # fmt: skip
        if n in simple:
            return simple[n]
        if n == "decimal":
            return f"DECIMAL({self.precision},{self.scale})"
        if n == "timestamptz":
            # An instant and the zone it is shown in: Trino keeps a zone with every value.
            return "STRUCT(i TIMESTAMPTZ, z VARCHAR)"
        if n == "array":
            return f"{self.element.duck()}[]"
        if n == "map":
            return f"MAP({self.key.duck()}, {self.value.duck()})"
        if n == "row":
            return (
                "STRUCT("
                + ", ".join(
                    f'"{field_name(f, i)}" {t.duck()}' for i, (f, t) in enumerate(self.fields)
                )
                + ")"
            )
        raise AthenaError("NOT_SUPPORTED", f"Unsupported type: {self}")

    def column_info(self) -> tuple[str, int, int]:
        """(ColumnInfo Type, Precision, Scale) as Athena reports them."""
        n = self.name
        if n == "decimal":
            return "decimal", self.precision, self.scale
        if n in ("varchar", "char"):
            return n, self.params[0] if self.params else 2147483647, 0
        if n == "timestamptz":
            return "timestamp with time zone", self.params[0], 0
        if n in ("time", "timestamp"):
            return n, self.params[0], 0
        precision = {
            "boolean": 0, "tinyint": 3, "smallint": 5, "integer": 10, "bigint": 19, "real": 17,
            "double": 17, "date": 0, "varbinary": 1073741824, "json": 0, "unknown": 0,
        }  # fmt: skip
        return n, precision.get(n, 0), 0

    def glue(self) -> str:
        """The Glue (Hive) column type a CTAS registers for this type."""
        n = self.name
        hive = {
            "boolean": "boolean", "tinyint": "tinyint", "smallint": "smallint",
            "integer": "int", "bigint": "bigint", "real": "float", "double": "double",
            "varchar": "string", "char": "string", "varbinary": "binary", "date": "date",
            "timestamp": "timestamp", "unknown": "string",
        }  # fmt: skip
        if n in hive:
            if n == "varchar" and self.params:
                return f"varchar({self.params[0]})"
            return hive[n]
        if n == "decimal":
            return f"decimal({self.precision},{self.scale})"
        if n == "array":
            return f"array<{self.element.glue()}>"
        if n == "map":
            return f"map<{self.key.glue()},{self.value.glue()}>"
        if n == "row":
            return (
                "struct<"
                + ",".join(f"{field_name(f, i)}:{t.glue()}" for i, (f, t) in enumerate(self.fields))
                + ">"
            )
        raise AthenaError("NOT_SUPPORTED", f"Unsupported Hive type: {self}")


def field_name(name: str | None, position: int) -> str:
    return name if name else f"field{position}"


BOOLEAN = T("boolean")
TINYINT = T("tinyint")
SMALLINT = T("smallint")
INTEGER = T("integer")
BIGINT = T("bigint")
REAL = T("real")
DOUBLE = T("double")
VARCHAR = T("varchar")
VARBINARY = T("varbinary")
JSON = T("json")
DATE = T("date")
UNKNOWN = T("unknown")
INTERVAL_DS = T(DAY_SECOND)
INTERVAL_YM = T(YEAR_MONTH)


def decimal(precision: int, scale: int) -> T:
    return T("decimal", (precision, scale))


def varchar(length: int | None = None) -> T:
    return T("varchar", (length,) if length is not None else ())


def timestamp(precision: int = 3) -> T:
    return T("timestamp", (precision,))


def timestamptz(precision: int = 3) -> T:
    return T("timestamptz", (precision,))


def time(precision: int = 3) -> T:
    return T("time", (precision,))


def array(element: T) -> T:
    return T("array", (element,))


def map_of(key: T, value: T) -> T:
    return T("map", (key, value))


def row(fields: list[tuple[str | None, T]]) -> T:
    return T("row", tuple(fields))


def as_decimal(t: T) -> T:
    """The decimal an exact type coerces to (integer is decimal(10,0))."""
    if t.name == "decimal":
        return t
    if t.is_integer:
        return decimal(INTEGER_DIGITS[t.name], 0)
    raise ValueError(f"{t} is not exact")


# --- from sqlglot / Glue -----------------------------------------------------------------------

_SIMPLE = {
    exp.DataType.Type.BOOLEAN: BOOLEAN,
    exp.DataType.Type.TINYINT: TINYINT,
    exp.DataType.Type.SMALLINT: SMALLINT,
    exp.DataType.Type.INT: INTEGER,
    exp.DataType.Type.BIGINT: BIGINT,
    exp.DataType.Type.FLOAT: REAL,
    exp.DataType.Type.DOUBLE: DOUBLE,
    exp.DataType.Type.VARBINARY: VARBINARY,
    exp.DataType.Type.BINARY: VARBINARY,
    exp.DataType.Type.JSON: JSON,
    exp.DataType.Type.DATE: DATE,
    exp.DataType.Type.TEXT: VARCHAR,
    exp.DataType.Type.UUID: T("uuid"),
    exp.DataType.Type.NULL: UNKNOWN,
    exp.DataType.Type.UNKNOWN: UNKNOWN,
}


def _params(node: exp.DataType) -> list[int]:
    return [int(p.this.name) for p in node.expressions if isinstance(p, exp.DataTypeParam)]


def from_sqlglot(node: exp.DataType, default_timestamp: int = 3, fold_case: bool = True) -> T:
    """A parsed type (a CAST target, a Glue column type) as a Trino type. A query's row field
    names are case-insensitive (folded to lower case); a Glue type keeps the data's spelling,
    which the JSON reader must match."""
    kind = node.this
    if isinstance(kind, exp.Interval):
        unit = kind.args.get("unit")
        text = unit.sql().upper() if unit is not None else ""
        if "YEAR" in text or "MONTH" in text:
            return INTERVAL_YM
        return INTERVAL_DS
    if kind in _SIMPLE:
        return _SIMPLE[kind]
    params = _params(node)
    D = exp.DataType.Type
    if kind == D.DECIMAL:
        precision, scale = (params[0], params[1] if len(params) > 1 else 0) if params else (38, 0)
        if not 1 <= precision <= MAX_DECIMAL or not 0 <= scale <= precision:
            raise AthenaError(
                "INVALID_CAST_ARGUMENT", f"DECIMAL precision must be in range [1, 38]: {node.sql()}"
            )
        return decimal(precision, scale)
    if kind in (D.VARCHAR, D.NVARCHAR):
        return varchar(params[0] if params else None)
    if kind in (D.CHAR, D.NCHAR):
        return T("char", (params[0] if params else 1,))
    if kind in (D.TIMESTAMP, D.DATETIME, D.TIMESTAMPNTZ):
        return timestamp(params[0] if params else default_timestamp)
    if kind in (D.TIMESTAMPTZ, D.TIMESTAMPLTZ):
        return timestamptz(params[0] if params else default_timestamp)
    if kind == D.TIME:
        return time(params[0] if params else 3)
    if kind == D.ARRAY:
        return array(from_sqlglot(node.expressions[0], default_timestamp, fold_case))
    if kind == D.MAP:
        key, value = node.expressions
        return map_of(
            from_sqlglot(key, default_timestamp, fold_case),
            from_sqlglot(value, default_timestamp, fold_case),
        )
    if kind == D.STRUCT:
        fields: list[tuple[str | None, T]] = []
        for item in node.expressions:
            if isinstance(item, exp.ColumnDef):
                name = item.name.lower() if fold_case else item.name
                kind_of = from_sqlglot(item.args["kind"], default_timestamp, fold_case)
                fields.append((name, kind_of))
            elif isinstance(item, exp.DataType):
                fields.append((None, from_sqlglot(item, default_timestamp, fold_case)))
            else:
                raise AthenaError("NOT_SUPPORTED", f"Unsupported row field: {item.sql()}")
        return row(fields)
    raise AthenaError("NOT_SUPPORTED", f"Unknown type: {node.sql(dialect='trino').lower()}")


def parse_type(text: str, dialect: str = "trino", fold_case: bool = True) -> T:
    try:
        node = exp.DataType.build(text, dialect=dialect)
    except Exception:
        raise AthenaError("TYPE_NOT_FOUND", f"Unknown type: {text}") from None
    return from_sqlglot(node, fold_case=fold_case)


def from_glue(text: str) -> T:
    """A Glue column type string (Hive spelling); a Glue timestamp reads as timestamp(3)."""
    return parse_type(text, dialect="hive", fold_case=False)


# --- coercion --------------------------------------------------------------------------------


def can_coerce(source: T, target: T) -> bool:
    """Trino's implicit coercion source -> target."""
    if source == target or source.is_unknown:
        return True
    s, t = source.name, target.name
    if source.is_integer and target.is_integer:
        return INTEGER_RANKS[s] <= INTEGER_RANKS[t]
    if source.is_integer and t == "decimal":
        d = as_decimal(source)
        return target.precision - target.scale >= d.precision
    if s == "decimal" and t == "decimal":
        return (
            target.scale >= source.scale
            and target.precision - target.scale >= source.precision - source.scale
        )
    if source.is_exact and t in ("real", "double"):
        return True
    if s == "real" and t == "double":
        return True
    if s == "varchar" and t == "varchar":
        return not target.params or (bool(source.params) and source.params[0] <= target.params[0])
    if s == "char" and t == "varchar":
        return True
    if s == "date" and t in ("timestamp", "timestamptz"):
        return True
    if s == "timestamp" and t in ("timestamp", "timestamptz"):
        return source.precision <= target.precision
    if s == "timestamptz" and t == "timestamptz":
        return source.precision <= target.precision
    if s == "time" and t == "time":
        return source.precision <= target.precision
    if s == t == "array":
        return can_coerce(source.element, target.element)
    if s == t == "map":
        return can_coerce(source.key, target.key) and can_coerce(source.value, target.value)
    if s == t == "row":
        return len(source.fields) == len(target.fields) and all(
            can_coerce(a, b) for (_, a), (_, b) in zip(source.fields, target.fields, strict=True)
        )
    return False


def common_super_type(a: T, b: T) -> T | None:
    """The type both coerce to (Trino's getCommonSuperType), or None."""
    if a == b:
        return a
    if a.is_unknown:
        return b
    if b.is_unknown:
        return a
    if a.is_integer and b.is_integer:
        return a if INTEGER_RANKS[a.name] >= INTEGER_RANKS[b.name] else b
    if a.is_exact and b.is_exact:
        da, db = as_decimal(a), as_decimal(b)
        scale = max(da.scale, db.scale)
        whole = max(da.precision - da.scale, db.precision - db.scale)
        return decimal(min(MAX_DECIMAL, whole + scale), scale)
    if a.is_numeric and b.is_numeric:
        if "double" in (a.name, b.name) or a.name == "decimal" or b.name == "decimal":
            return REAL if {a.name, b.name} <= {"real"} else DOUBLE
        return REAL if "real" in (a.name, b.name) else DOUBLE
    if a.is_string and b.is_string:
        if a.params and b.params and a.name == b.name == "varchar":
            return varchar(max(a.params[0], b.params[0]))
        return VARCHAR
    temporal = {a.name, b.name}
    if temporal <= {"date", "timestamp", "timestamptz"}:
        precision = max((t.precision for t in (a, b) if t.name != "date"), default=3)
        return timestamptz(precision) if "timestamptz" in temporal else timestamp(precision)
    if a.name == b.name == "time":
        return time(max(a.precision, b.precision))
    if a.name == b.name == "array":
        element = common_super_type(a.element, b.element)
        return array(element) if element else None
    if a.name == b.name == "map":
        key, value = common_super_type(a.key, b.key), common_super_type(a.value, b.value)
        return map_of(key, value) if key and value else None
    if a.name == b.name == "row" and len(a.fields) == len(b.fields):
        fields = []
        for (fa, ta), (fb, tb) in zip(a.fields, b.fields, strict=True):
            common = common_super_type(ta, tb)
            if common is None:
                return None
            fields.append((fa if fa == fb else None, common))
        return row(fields)
    return None


def common_of(types: list[T], what: str) -> T:
    result = UNKNOWN
    for t in types:
        found = common_super_type(result, t)
        if found is None:
            raise AthenaError(
                "TYPE_MISMATCH",
                f"All {what} must be the same type or coercible to a common type. "
                f"Cannot find common type between {result} and {t}",
            )
        result = found
    return result


def comparable(t: T) -> bool:
    return t.name not in ("json", "map") and not (
        t.name in ("array", "row") and not all(comparable(x) for x in _children(t))
    )


def orderable(t: T) -> bool:
    return t.name not in ("json", "map", "boolean_never") and not (
        t.name in ("array", "row") and not all(orderable(x) for x in _children(t))
    )


def _children(t: T) -> list[T]:
    if t.name == "array":
        return [t.element]
    if t.name == "row":
        return [x for _, x in t.fields]
    return []
