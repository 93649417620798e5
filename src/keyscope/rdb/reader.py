"""The streaming RDB reader: one KeyRecord per key, the keyspace never held in memory.

Values are measured, not decoded, wherever the format allows: a string's length comes
from its header, a listpack's element count from its first six bytes.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable, Iterator
from typing import BinaryIO

from keyscope.domain.errors import RdbFormatError
from keyscope.domain.keys import KeyRecord, KeyType
from keyscope.rdb import blobs, memory
from keyscope.rdb import constants as c
from keyscope.rdb.crc64 import Crc64
from keyscope.rdb.engines import model_for
from keyscope.rdb.memory import MemoryModel
from keyscope.rdb.rax import RaxNodeCounter
from keyscope.rdb.skipped import SkippingDecoder
from keyscope.rdb.source import ByteSource

_I64LE = struct.Struct("<q")
_I32LE = struct.Struct("<i")
_MODULE_CHARSET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
LIST_NODE_BYTES = 8192
"""list-max-listpack-size -2: what Redis packs into one quicklist node."""

Measured = tuple[KeyType, str, int, int]
"""(type, encoding, element count, memory of the value)"""


class RdbReader(SkippingDecoder):
    """Iterates the keys of an RDB stream; ``aux``, ``version`` and ``bytes_read`` on the side."""

    def __init__(
        self,
        source: str | os.PathLike[str] | BinaryIO,
        *,
        verify_checksum: bool = True,
        memory_model: MemoryModel | None = None,
    ):
        if isinstance(source, (str, os.PathLike)):
            self._stream: BinaryIO = open(source, "rb")  # noqa: SIM115 - closed when exhausted
            self._owned = True
        else:
            self._stream = source
            self._owned = False
        self._crc = Crc64() if verify_checksum else None
        super().__init__(ByteSource(self._stream, self._crc))
        self.version = 0
        self.valkey = False
        self.aux: dict[str, bytes] = {}
        self.functions = 0
        self.modules: dict[str, int] = {}
        self._chosen_model = memory_model
        self._mem = memory_model or memory.DEFAULT_MODEL
        self._mem_chosen = memory_model is not None
        self._handlers = self._build_handlers()

    @property
    def memory_model(self) -> MemoryModel:
        """The model the estimates follow: the one given, else the writer's (by its aux fields)."""
        if self._chosen_model is None and not self._mem_chosen:
            return model_for(self.aux, self.version, valkey_magic=self.valkey)
        return self._mem

    @property
    def bytes_read(self) -> int:
        return self._src.offset

    def close(self) -> None:
        if self._owned:
            self._stream.close()

    def __enter__(self) -> RdbReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[KeyRecord]:
        try:
            yield from self._records()
        finally:
            self.close()

    # -- the outer loop ----------------------------------------------------------------

    def _records(self) -> Iterator[KeyRecord]:
        self._header()
        src = self._src
        db = 0
        expiry: int | None = None
        while True:
            at = src.offset
            op = src.byte()
            if op == c.OP_EOF:
                self._trailer()
                return
            if op == c.OP_SELECTDB:
                db = self._len()
            elif op == c.OP_EXPIRETIME_MS:
                expiry = _I64LE.unpack(src.read(8))[0]
            elif op == c.OP_EXPIRETIME:
                expiry = _I32LE.unpack(src.read(4))[0] * 1000
            elif op >= c.OP_KEY_META:
                self._meta(op, at)
            elif op == c.OP_VALKEY_UPDATE and self.valkey:
                self._skip_inline_command()
            elif op in _REDIS_ENTERPRISE_OPS and not self.valkey:
                self._len()  # a Redis Enterprise hint before the key's type: one length
            else:
                handler = self._handlers.get(op)
                if handler is None:
                    raise RdbFormatError(self._unknown_type(op), offset=at)
                if not self._mem_chosen:  # the aux fields naming the writer precede any key
                    self._mem = model_for(self.aux, self.version, valkey_magic=self.valkey)
                    self._mem_chosen = True
                key = self._string()
                value_at = src.offset
                self._key_len, self._expires = len(key), expiry is not None
                kind, encoding, count, value_mem = handler()
                if kind != "string":
                    value_mem += self._mem.key_overhead(len(key), expires=expiry is not None)
                yield KeyRecord(
                    db,
                    key,
                    kind,
                    encoding,
                    expiry,
                    count,
                    src.offset - value_at,
                    value_mem,
                    "serialized" if kind == "module" else "model",
                )
                expiry = None

    def _meta(self, op: int, at: int) -> None:
        """Opcodes that carry no key: aux fields, hints, functions, module data."""
        if op == c.OP_AUX:
            name = self._string().decode("utf-8", "replace")
            self.aux[name] = self._string()
        elif op == c.OP_RESIZEDB:
            self._len()
            self._len()
        elif op == c.OP_IDLE:
            self._len()
        elif op == c.OP_FREQ:
            self._src.byte()
        elif op == c.OP_SLOT_INFO:
            for _ in range(3):  # slot id, slot size, expires slot size
                self._len()
        elif op == c.OP_MODULE_AUX:
            for _ in range(3):  # module id, when opcode, when
                self._len()
            self._skip_module_value(at)
        elif op == c.OP_FUNCTION2:
            self._skip_string()
            self.functions += 1
        elif op == c.OP_FUNCTION_PRE_GA:
            self._skip_function_pre_ga()
            self.functions += 1
        elif self.valkey:  # OP_SLOT_IMPORT
            self._skip_slot_import()
        else:  # OP_KEY_META
            self._skip_key_meta()

    def _header(self) -> None:
        """The magic and version; each magic has its own versions and its own types past 21."""
        head = self._src.read(9)
        if head[:5] == b"REDIS" and head[5:].isdigit():
            version = int(head[5:])
            if not 1 <= version <= c.MAX_SUPPORTED_VERSION:
                raise RdbFormatError(f"unsupported RDB version {version}", offset=5)
            self._handlers.update(self._redis_handlers())
        elif head[:6] == b"VALKEY" and head[6:].isdigit():
            version = int(head[6:])
            if version not in c.VALKEY_VERSIONS:
                raise RdbFormatError(f"unsupported Valkey RDB version {version}", offset=6)
            self.valkey = True
            self._handlers[c.T_VALKEY_HASH_2] = self._v_valkey_hash_2
        else:
            raise RdbFormatError("not an RDB file (no REDIS or VALKEY magic)", offset=0)
        self.version = version

    def _unknown_type(self, op: int) -> str:
        if self.valkey and op == c.T_VALKEY_PATH_HASH:
            return "Valkey path hash (type 23): its format is not supported yet"
        if not self.valkey and op == c.T_GCRA:
            return "GCRA rate limiter (type 29, a Redis built with ENABLE_GCRA) is not supported"
        return f"unknown value type {op}"

    def _trailer(self) -> None:
        if self.version < 5:
            return
        at = self._src.offset
        self._src.finish_digest()
        stored = int.from_bytes(self._src.read(8), "little")
        if self._crc is not None and stored not in (0, self._crc.value):
            raise RdbFormatError(
                f"checksum mismatch (file says {stored:016x}, content is {self._crc.value:016x})",
                offset=at,
            )

    # -- value types -------------------------------------------------------------------

    def _build_handlers(self) -> dict[int, Callable[[], Measured]]:
        return {
            c.T_STRING: self._v_string,
            c.T_LIST: self._v_list_linked,
            c.T_SET: self._v_set,
            c.T_ZSET: lambda: self._v_zset(binary=False),
            c.T_ZSET_2: lambda: self._v_zset(binary=True),
            c.T_HASH: self._v_hash,
            c.T_MODULE_PRE_GA: self._v_module_pre_ga,
            c.T_MODULE_2: self._v_module,
            c.T_HASH_ZIPMAP: self._v_hash_zipmap,
            c.T_LIST_ZIPLIST: self._v_list_ziplist,
            c.T_SET_INTSET: self._v_set_intset,
            c.T_ZSET_ZIPLIST: lambda: self._v_packed("zset", self._small, blobs.ZIPLIST, 2),
            c.T_HASH_ZIPLIST: lambda: self._v_packed("hash", self._small, blobs.ZIPLIST, 2),
            c.T_LIST_QUICKLIST: lambda: self._v_quicklist(v2=False),
            c.T_STREAM_LISTPACKS: lambda: self._v_stream(1),
            c.T_HASH_LISTPACK: lambda: self._v_packed("hash", "listpack", blobs.LISTPACK, 2),
            c.T_ZSET_LISTPACK: lambda: self._v_packed("zset", "listpack", blobs.LISTPACK, 2),
            c.T_LIST_QUICKLIST_2: lambda: self._v_quicklist(v2=True),
            c.T_STREAM_LISTPACKS_2: lambda: self._v_stream(2),
            c.T_SET_LISTPACK: lambda: self._v_packed("set", "listpack", blobs.LISTPACK, 1),
            c.T_STREAM_LISTPACKS_3: lambda: self._v_stream(3),
        }

    def _redis_handlers(self) -> dict[int, Callable[[], Measured]]:
        """The types Redis added after RDB 11 (Valkey gives 22 and up other meanings)."""
        return {
            c.T_HASH_METADATA_PRE_GA: lambda: self._v_hash_metadata(relative=False),
            c.T_HASH_LISTPACK_EX_PRE_GA: lambda: self._v_hash_listpack_ex(min_expire=False),
            c.T_HASH_METADATA: lambda: self._v_hash_metadata(relative=True),
            c.T_HASH_LISTPACK_EX: lambda: self._v_hash_listpack_ex(min_expire=True),
            c.T_STREAM_LISTPACKS_4: lambda: self._v_stream(4),
            c.T_STREAM_LISTPACKS_5: lambda: self._v_stream(5),
            c.T_ARRAY: self._v_array,
        }

    @property
    def _small(self) -> str:
        """The encoding of a small hash or zset: a ziplist up to Redis 6.2, else a listpack."""
        return "ziplist" if self._mem.layout == "redis-6.2" else "listpack"

    def _v_string(self) -> Measured:
        length, is_int = self._string_value()
        mem, klen, expires = self._mem, self._key_len, self._expires
        encoding = mem.string_encoding(length, klen, is_int=is_int, expires=expires)
        return "string", encoding, length, mem.string(length, klen, is_int=is_int, expires=expires)

    def _v_list_linked(self) -> Measured:
        n = self._len()
        sizes = [self._string_len() for _ in range(n)]
        return "list", "quicklist", n, self._mem.quicklist(_listpack_nodes(sizes))

    def _v_list_ziplist(self) -> Measured:
        size, n = self._packed(blobs.ZIPLIST)
        return "list", "quicklist", n, self._mem.quicklist(_split_nodes(size))

    def _v_quicklist(self, *, v2: bool) -> Measured:
        nodes = self._len()
        count = 0
        node_bytes: list[int] = []
        plain = False
        for _ in range(nodes):
            container = self._len() if v2 else 2
            if container == 1:  # a plain node holds one large element
                node_bytes.append(self._string_len())
                count += 1
                plain = True
                continue
            if container != 2:
                raise RdbFormatError(
                    f"unknown quicklist container {container}", offset=self._src.offset
                )
            size, n = self._packed(blobs.LISTPACK if v2 else blobs.ZIPLIST)
            count += n
            node_bytes.append(size)
        if v2 and self._mem.listpack_lists and nodes == 1 and not plain:
            # Redis 7.2+ and Valkey keep a list that fits one node as a bare listpack.
            return "list", "listpack", count, self._mem.packed(node_bytes[0])
        return "list", "quicklist", count, self._mem.quicklist(node_bytes)

    def _v_set(self) -> Measured:
        n = self._len()
        total = 0
        all_int = True  # then the set grew out of an intset (members past int32 included)
        sds = self._mem.sds
        for _ in range(n):
            if all_int:
                length, all_int = self._string_value()
            else:
                length = self._string_len()
            total += sds(length)
        return "set", "hashtable", n, self._mem.set_table(total, n, from_intset=all_int)

    def _v_set_intset(self) -> Measured:
        size, n = self._packed(blobs.INTSET)
        return "set", "intset", n, self._mem.packed(size)

    def _v_zset(self, *, binary: bool) -> Measured:
        n = self._len()
        total = 0.0
        src = self._src
        member = self._mem.zset_member
        for _ in range(n):
            total += member(self._string_len())
            if binary:
                src.skip(8)
            else:
                score_len = src.byte()
                if score_len < 253:
                    src.skip(score_len)
        return "zset", "skiplist", n, self._mem.zset_skiplist(total, n)

    def _v_hash(self) -> Measured:
        n = self._len()
        total = 0.0
        longest = 0
        pair, string_len = self._mem.hash_pair, self._string_len
        for _ in range(n):
            field, value = string_len(), string_len()
            total += pair(field, value)
            longest = max(longest, field, value)
        return "hash", "hashtable", n, self._mem.hash_table(total, n, longest=longest)

    def _v_hash_metadata(self, *, relative: bool) -> Measured:
        if relative:
            self._src.skip(8)  # the smallest field expiry, for loaders that stream to flash
        n = self._len()
        total = 0.0
        for _ in range(n):
            ttl = self._len() != 0  # the field's TTL, 0 for none
            total += self._mem.hash_pair(self._string_len(), self._string_len(), ttl=ttl)
        return "hash", "hashtable", n, self._mem.hash_table(total, n)

    def _v_valkey_hash_2(self) -> Measured:
        n = self._len()
        total = 0.0
        for _ in range(n):
            field, value = self._string_len(), self._string_len()
            ttl = self._src.read(8) != b"\xff" * 8  # the field's absolute expiry, -1 for none
            total += self._mem.hash_pair(field, value, ttl=ttl)
        return "hash", "hashtable", n, self._mem.hash_table(total, n)

    def _v_hash_listpack_ex(self, *, min_expire: bool) -> Measured:
        if min_expire:
            self._src.skip(8)
        size, n = self._packed(blobs.LISTPACK)
        return "hash", "listpackex", n // 3, self._mem.listpack_ex(size)

    def _v_hash_zipmap(self) -> Measured:
        blob, at = self._blob()
        pairs = self._measure(blobs.zipmap_sizes, blob, at)
        return "hash", self._small, len(pairs), self._mem.packed(len(blob))

    def _v_packed(self, kind: KeyType, encoding: str, layout: blobs.Layout, per: int) -> Measured:
        size, n = self._packed(layout)
        return kind, encoding, n // per, self._mem.packed(size)

    def _v_stream(self, version: int) -> Measured:
        src = self._src
        listpacks = self._len()
        lp_sizes: list[int] = []
        nodes = RaxNodeCounter()
        for _ in range(listpacks):
            master_key = self._string()
            if len(master_key) != 16:
                raise RdbFormatError("stream node key is not a 128-bit ID", offset=src.offset)
            nodes.add(master_key)
            lp_sizes.append(self._packed(blobs.LISTPACK)[0])
        length = self._len()
        self._len()  # last id ms
        self._len()  # last id seq
        if version >= 2:
            for _ in range(5):  # first id, max deleted id, entries added
                self._len()
        groups_memory = 0
        for _ in range(self._len()):
            groups_memory += self._stream_group(version)
            if version >= 5:  # the group's NACK zone: a count, then raw 128-bit IDs
                src.skip(16 * self._len())
        if version >= 4:
            self._skip_stream_idmp()
        value = self._mem.stream_base() + self._mem.rax(listpacks, nodes.nodes)
        value += self._mem.stream_listpacks(lp_sizes) + groups_memory
        return "stream", "stream", length, value

    def _v_array(self) -> Measured:
        """Redis 8.8's array (``rdbLoadObject``): a count, an optional insert index, then per
        element its index, a tag and the value (``sparsearray.h``)."""
        src = self._src
        count = self._len()
        if self._len():  # an insert index follows
            self._len()
        value_bytes = 0
        for _ in range(count):
            self._len()  # the element's index
            tag = self._len()
            if tag in (c.ARRAY_TAG_INT, c.ARRAY_TAG_FLOAT):
                src.skip(8)
            elif tag in (c.ARRAY_TAG_SDS, c.ARRAY_TAG_SMALLSTR):
                value_bytes += self._string_len()
            else:
                raise RdbFormatError(f"unknown array element tag {tag}", offset=src.offset - 1)
        return "array", "sliced-array", count, self._mem.array(count, value_bytes)

    def _stream_ids(self, count: int) -> RaxNodeCounter:
        """Read a consumer's PEL: ``count`` raw 128-bit IDs in tree order."""
        tree = RaxNodeCounter()
        read = self._src.read
        for _ in range(count):
            tree.add(read(16))
        return tree

    def _stream_group(self, version: int) -> int:
        src = self._src
        self._skip_string()  # group name
        self._len()
        self._len()  # last delivered id
        if version >= 2:
            self._len()  # entries read
        pel = self._len()
        tree = RaxNodeCounter()
        for _ in range(pel):
            tree.add(src.read(16))
            src.skip(8)  # delivery time
            self._len()  # delivery count
        used = self._mem.stream_group() + self._mem.rax(pel, tree.nodes)
        used += self._mem.stream_nack() * pel
        consumer_size = self._mem.stream_consumer
        for _ in range(self._len()):
            name_len = self._string_len()
            src.skip(8)  # seen time
            if version >= 3:
                src.skip(8)  # active time
            consumer_pel = self._len()
            consumer_tree = self._stream_ids(consumer_pel)
            used += consumer_size + name_len + self._mem.rax(consumer_pel, consumer_tree.nodes)
        return used

    def _v_module(self) -> Measured:
        at = self._src.offset
        module_id = self._len()
        name = _module_name(module_id)
        uints = self._skip_module_value(at)
        self.modules[name] = self.modules.get(name, 0) + 1
        count = _module_count(name, uints)
        return "module", name, count, self._mem.module_value(self._src.offset - at)

    def _v_module_pre_ga(self) -> Measured:
        """Redis 4.0 release candidates saved a module's value in the module's own format,
        without the opcodes that let a reader skip it (Redis itself refuses it since)."""
        at = self._src.offset
        name = _module_name(self._len())
        raise RdbFormatError(
            f"module value of a Redis 4.0 release candidate (module {name}) cannot be skipped",
            offset=at,
        )


def iter_records(
    source: str | os.PathLike[str] | BinaryIO,
    *,
    verify_checksum: bool = True,
    memory_model: MemoryModel | None = None,
) -> Iterator[KeyRecord]:
    """Yield one KeyRecord per key of an RDB file or stream."""
    return iter(RdbReader(source, verify_checksum=verify_checksum, memory_model=memory_model))


MODULE_COUNT_AT = {"vectorset": 1}
"""Where a module's element count is among its first unsigned integers: a vector set saves
its dimension, then its node count (``modules/vector-sets/vset.c``, VectorSetRdbSave)."""
_REDIS_ENTERPRISE_OPS = frozenset({c.OP_REDIS_ENT_RAM_LRU, c.OP_REDIS_ENT_SLOT_NUM})


def _module_count(name: str, uints: list[int]) -> int:
    at = MODULE_COUNT_AT.get(name)
    return uints[at] if at is not None and at < len(uints) else 0


def _module_name(module_id: int) -> str:
    chars = [_MODULE_CHARSET[(module_id >> (10 + 6 * (8 - i))) & 63] for i in range(9)]
    return "".join(chars)


def _split_nodes(total: int) -> list[int]:
    """Node sizes of a list of ``total`` listpack bytes cut at the node size limit."""
    full, rest = divmod(total, LIST_NODE_BYTES)
    return [LIST_NODE_BYTES] * full + ([rest] if rest else [])


def _listpack_nodes(element_sizes: list[int]) -> list[int]:
    """Estimated quicklist node sizes for elements of the given lengths."""
    nodes: list[int] = []
    current = 7
    for size in element_sizes:
        entry = size + (1 if size < 64 else 2 if size < 4096 else 5)
        entry += 1 if entry <= 127 else 2
        if current + entry > LIST_NODE_BYTES and current > 7:
            nodes.append(current)
            current = 7
        current += entry
    if current > 7 or not nodes:
        nodes.append(current)
    return nodes
