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
    (b"520522000001;m;2026-11-02 08:00:00~001;a;1;2;3;t||", UploadFormatError,
     "does not end with '~'"),
    ("520522000001;m;2026-11-02 08:00:00~||".encode("gbk") + b"\xb6\xfe||", UploadFormatError,
     "not UTF-8"),
])
def test_broken_files_say_where_and_what(data, error, message):
    with pytest.raises(error) as exc:
        parse_upload(data, NAME)
    assert message in str(exc.value)


def test_a_record_with_the_wrong_field_count_is_one_bad_record_not_a_bad_file():
    data = (b"520522000001;m;2026-11-02 08:00:00~001;a;1;2;3;t~002;b;1~"
            b"003;c;1;2;3;t~004;d;1;2;3;t;extra~||")
    f = parse_upload(data, NAME)
    assert f.records == (("001", "a", "1", "2", "3", "t"), ("003", "c", "1", "2", "3", "t"))
    assert list(f.numbered()) == [(2, f.records[0]), (4, f.records[1])]
    assert [(p.record, p.message) for p in f.problems] == [
        (3, "3 fields, a FZDY record has 6"), (5, "7 fields, a FZDY record has 6")]
    assert f.record_count == 4


def test_the_terminator_is_looked_for_on_the_bytes_before_decoding():
    """A file cut inside a Chinese character is still being written, not 'not UTF-8'."""
    whole = "520522000001;m;2026-11-02 08:00:00~001;分站一号;1;2;3;t~||".encode()
    cut = whole[:whole.index("站".encode()) + 1]          # one byte of a three-byte character
    with pytest.raises(IncompleteFileError):
        parse_upload(cut, NAME)
    assert parse_upload(whole, NAME).records[0][1] == "分站一号"


def test_file_names():
    assert parse_file_name(NAME) == ("520522000001", "FZDY", datetime(2026, 11, 2, 8))
    with pytest.raises(UploadFormatError, match="file name"):
        parse_file_name("520522000001-FZDY.txt")


def test_a_type_found_in_another_layout_is_read_into_its_own():
    data = ("520522000001;矿;2026-11-02 08:00:00~"
            "5205220000010001000002;主斜井210m分站;35511960.0;2935753.2;1419.3;主斜井距起点210米~"
            "5205220000010001000003;主斜井410m分站;0;主斜井距起点410米~"
            "5205220000010001000004;x;0~||").encode()
    f = parse_upload(data, "520522000001_RYJZ_20261102080000.txt")
    assert f.records == (
        ("5205220000010001000002", "主斜井210m分站", "35511960.0", "2935753.2", "1419.3",
         "主斜井距起点210米"),
        ("5205220000010001000003", "主斜井410m分站", "", "", "", "主斜井距起点410米"))
    assert [(p.record, p.message) for p in f.problems] == [(4, "3 fields, a RYJZ record has 6")]
