"""URL converter for a cycle's month, written ``YYYY-MM`` in every address."""


class MonthConverter:
    regex = r"[0-9]{4}-[0-9]{2}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: object) -> str:
        return value if isinstance(value, str) else value.strftime("%Y-%m")
