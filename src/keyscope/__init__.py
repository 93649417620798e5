"""keyscope: cache analysis for Redis and Valkey behind the Huawei Cloud DCS API."""

__version__ = "0.1.0"
