"""Client path segments become upstream paths safely: encoded, never traversing."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.proxy import UnsafePath, upstream_path


@pytest.mark.parametrize("rest", ["..", "a/../metrics", "./x", "a/."])
def test_dot_segments_are_refused(rest: str) -> None:
    with pytest.raises(UnsafePath):
        upstream_path("/users", rest)


def test_control_characters_and_slashes_inside_a_segment_are_encoded() -> None:
    assert upstream_path("/llms", "a\nb%2F") == "/llms/a%0Ab%252F"


@given(st.lists(st.text(min_size=1).filter(lambda s: "/" not in s and s not in (".", ".."))))
def test_encoded_path_decodes_back_to_what_the_client_sent(segments: list[str]) -> None:
    rest = "/".join(segments)

    assert unquote(upstream_path("/users", rest)) == f"/users/{rest}"
