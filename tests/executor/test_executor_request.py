"""Request building: path encoding that cannot change the URL's shape, query styles, headers,
cookies and bodies."""

from __future__ import annotations

import json
from urllib.parse import unquote

import httpx
import pytest

from agentrt.executor.request import BuildError, build_request, origin_of
from agentrt.toolset.tool import Body, Param

PATH_PAYLOADS = [
    "../admin", "a/b", "%2F", "%2f..%2f", "?x=1", "#frag", "a\r\nX-Evil: 1", "http://evil.test/",
    "//evil.test", "@evil.test", "evil.test:80", "\\\\evil.test", "é/ü", "..;", "...", " ", "%00",
    "\x00", "a b+c", "~user", "${jndi:x}", "%252e%252e", "..%2f..%2f", "javascript:alert(1)",
    "file:///etc/passwd", "http://127.0.0.1:1/", "🙂", "\u202e", "a?b#c/d",
]


def _user_tool(kit):
    return kit.make_tool("get_user", "GET", "/users/{id}/profile",
                         params=[Param(name="id", location="path", wire_name="id",
                                       required=True)])


@pytest.mark.parametrize("value", PATH_PAYLOADS)
def test_path_values_cannot_change_shape_or_host(kit, value):
    req = build_request(_user_tool(kit), {"id": value}, base_url="http://api.test/v1")
    url = req.url
    assert origin_of(url) == ("http", "api.test", 80)
    raw = url.raw_path.decode()
    assert raw.startswith("/v1/users/") and raw.endswith("/profile")
    assert "?" not in raw and "#" not in raw
    segments = raw.split("/")
    assert len(segments) == 5, raw
    assert unquote(segments[3]) == value  # the server gets exactly the value, one segment
    assert url.query == b"" and url.fragment == ""


@pytest.mark.parametrize("value", [".", "..", ""])
def test_dot_segments_and_empty_path_values_are_refused(kit, value):
    with pytest.raises(BuildError) as err:
        build_request(_user_tool(kit), {"id": value}, base_url="http://api.test")
    assert err.value.violations[0].path == "$.id"


def test_two_params_cannot_form_a_dot_segment(kit):
    tool = kit.make_tool("f", "GET", "/f/{a}{b}", params=[
        Param(name="a", location="path", wire_name="a", required=True),
        Param(name="b", location="path", wire_name="b", required=True)])
    with pytest.raises(BuildError):
        build_request(tool, {"a": ".", "b": "."}, base_url="http://api.test")


def test_path_styles_and_scalars(kit):
    tool = kit.make_tool("f", "GET", "/f/{a}/{b}/{c}/{d}", params=[
        Param(name="a", location="path", wire_name="a", schema={"type": "array"}),
        Param(name="b", location="path", wire_name="b", schema={"type": "boolean"}),
        Param(name="c", location="path", wire_name="c", style="label",
              schema={"type": "array"}),
        Param(name="d", location="path", wire_name="d", style="matrix",
              schema={"type": "integer"})])
    req = build_request(tool, {"a": ["x/y", 2], "b": True, "c": ["p", "q"], "d": 5},
                        base_url="http://api.test")
    assert req.url.raw_path == b"/f/x%2Fy,2/true/.p,q/;d=5"


def test_query_styles(kit):
    tool = kit.make_tool("q", "GET", "/q", params=[
        Param(name="tags", location="query", wire_name="tags", schema={"type": "array"}),
        Param(name="ids", location="query", wire_name="ids", explode=False,
              schema={"type": "array"}),
        Param(name="sp", location="query", wire_name="sp", style="spaceDelimited",
              explode=False, schema={"type": "array"}),
        Param(name="pp", location="query", wire_name="pp", style="pipeDelimited",
              explode=False, schema={"type": "array"}),
        Param(name="f", location="query", wire_name="filter", style="deepObject",
              explode=True, schema={"type": "object"}),
        Param(name="flag", location="query", wire_name="flag", schema={"type": "boolean"}),
        Param(name="s", location="query", wire_name="s")])
    req = build_request(tool, {"tags": ["a b", "c&d"], "ids": [1, 2], "sp": ["x", "y"],
                               "pp": ["x", "y"], "f": {"min": 1}, "flag": False,
                               "s": "a=b&c=#"}, base_url="http://api.test")
    q = req.url.query.decode()
    assert "tags=a%20b&tags=c%26d" in q
    assert "ids=1,2" in q or "ids=1%2C2" in q
    assert "sp=x%20y" in q
    assert "filter%5Bmin%5D=1" in q
    assert "flag=false" in q
    assert "s=a%3Db%26c%3D%23" in q
    assert req.url.fragment == ""
    parsed = httpx.URL(str(req.url)).params
    assert parsed.get_list("tags") == ["a b", "c&d"]
    assert parsed["s"] == "a=b&c=#"


def test_headers_refuse_control_characters_and_forbidden_names(kit):
    tool = kit.make_tool("h", "GET", "/h", params=[
        Param(name="trace", location="header", wire_name="X-Trace")])
    assert build_request(tool, {"trace": "abc"}, base_url="http://api.test").headers == (
        ("X-Trace", "abc"),)
    for bad in ["a\r\nHost: evil", "a\nb", "a\rb", "a\x00b"]:
        with pytest.raises(BuildError):
            build_request(tool, {"trace": bad}, base_url="http://api.test")
    host = kit.make_tool("h2", "GET", "/h", params=[
        Param(name="host", location="header", wire_name="Host")])
    with pytest.raises(BuildError):
        build_request(host, {"host": "evil.test"}, base_url="http://api.test")


def test_cookies_are_encoded(kit):
    tool = kit.make_tool("c", "GET", "/c", params=[
        Param(name="sess", location="cookie", wire_name="sess")])
    req = build_request(tool, {"sess": "a; admin=1"}, base_url="http://api.test")
    request = req.to_httpx(httpx.AsyncClient())
    assert request.headers["cookie"] == "sess=a%3B%20admin%3D1"


def test_json_bodies_flat_and_whole(kit):
    flat = kit.make_tool("book", "POST", "/b", body=Body(media_type="application/json",
                                                         mode="flat"), params=[
        Param(name="flight", location="body", wire_name="flight"),
        Param(name="seats", location="body", wire_name="seats", schema={"type": "integer"})])
    req = build_request(flat, {"flight": "AF1", "seats": 2}, base_url="http://api.test")
    assert json.loads(req.content or b"") == {"flight": "AF1", "seats": 2}
    assert req.content_type == "application/json"
    whole = kit.make_tool("put", "PUT", "/p", body=Body(media_type="application/json",
                                                        mode="whole"))
    req = build_request(whole, {"body": {"x": [1, None]}}, base_url="http://api.test")
    assert json.loads(req.content or b"") == {"x": [1, None]}


def test_form_and_multipart_bodies(kit):
    params = [Param(name="name", location="body", wire_name="name"),
              Param(name="tags", location="body", wire_name="tags", schema={"type": "array"}),
              Param(name="file", location="body", wire_name="file", schema={"type": "file"})]
    form = kit.make_tool("form", "POST", "/f", params=params[:2], body=Body(
        media_type="application/x-www-form-urlencoded", mode="flat"))
    req = build_request(form, {"name": "a&b=c", "tags": ["x", "y"]}, base_url="http://api.test")
    assert req.content == b"name=a%26b%3Dc&tags=x&tags=y"
    multi = kit.make_tool("multi", "POST", "/m", params=params, body=Body(
        media_type="multipart/form-data", mode="flat"))
    req = build_request(multi, {"name": "n", "file": "content!"}, base_url="http://api.test")
    assert req.content_type is not None and req.content_type.startswith("multipart/form-data")
    assert b'name="name"\r\n\r\nn\r\n' in (req.content or b"")
    assert b'filename="file"' in (req.content or b"") and b"content!" in (req.content or b"")
