"""The upload-file envelope (REFERENCE.md §3), from golden files written by hand."""

from datetime import datetime

import pytest

from twin.kj_format import (IncompleteFileError, UploadFormatError, parse_file_name,
                          parse_upload, write_upload)

NAME = "520522000001_FZDY_20261102080000.txt"


def test_a_golden_file_parses_exactly():
    data = ("\ufeff520522000001;黔西示范煤矿;2026-11-02 08:00:00;KJ90X~"
            "001;中央变电所分站;35510520.0;2934940.0;1109.5;2026-11-02 08:00:00~\r\n"
            "002;11901工作面分站;35512240.0;2934570.0;989.1;2026-11-02 08:00:00~||").encode()
    f = parse_upload(data, NAME)
    assert (f.type, f.mine_code, f.mine_name) == ("FZDY", "520522000001", "黔西示范煤矿")
    assert f.data_time == datetime(2026, 11, 2, 8, 0, 0)
    assert f.header[3] == "KJ90X"
    assert f.records == (
        ("001", "中央变电所分站", "35510520.0", "2934940.0", "1109.5", "2026-11-02 08:00:00"),
        ("002", "11901工作面分站", "35512240.0", "2934570.0", "989.1", "2026-11-02 08:00:00"))


def test_write_then_parse_round_trips():
    rows = [["001", "分站", "1", "2", "3", "2026-11-02 08:00:00"]]
    name, data = write_upload("FZDY", "520522000001", "矿", datetime(2026, 11, 2, 8), rows)
    assert name == NAME
    assert parse_upload(data, name).records == (tuple(rows[0]),)


@pytest.mark.parametrize("data, error, message", [
    (b"520522000001;m;2026-11-02 08:00:00~001;a;1;2;3;t~", IncompleteFileError, "no '||'"),
    (b"520522000002;m;2026-11-02 08:00:00~||", UploadFormatError, "record 1, field 'mine code'"),
    (b"520522000001;m;2026-13-02 08:00:00~||", UploadFormatError, "field 'data time'"),
    (b"520522000001;m;2026-11-02 08:00:00~001;a;1~||", UploadFormatError,
     "record 2: 3 fields, a FZDY record has 6"),
    (b"520522000001;m;2026-11-02 08:00:00~001;a;1;2;3;t||", UploadFormatError,
     "does not end with '~'"),
    ("520522000001;m;2026-11-02 08:00:00~||".encode("gbk") + b"\xb6\xfe||", UploadFormatError,
     "not UTF-8"),
])
def test_broken_files_say_where_and_what(data, error, message):
    with pytest.raises(error) as exc:
        parse_upload(data, NAME)
    assert message in str(exc.value)


def test_file_names():
    assert parse_file_name(NAME) == ("520522000001", "FZDY", datetime(2026, 11, 2, 8))
    with pytest.raises(UploadFormatError, match="file name"):
        parse_file_name("520522000001-FZDY.txt")
