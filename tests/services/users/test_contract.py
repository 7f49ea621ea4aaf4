"""The users API contract over HTTP against moto (DynamoDB + S3)."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from tests.fixtures.users import JPEG, PNG, UsersService


def _email() -> str:
    return f"user-{uuid.uuid4().hex[:10]}@example.com"


def _create(users: UsersService, **files: tuple[str, bytes, str]) -> httpx.Response:
    data = {"name": "Ada Lovelace", "email": _email()}
    if files:
        return httpx.post(f"{users.url}/user", data=data, files=files)
    return httpx.post(f"{users.url}/user", json=data)


def test_create_from_json_then_read_it_back(users: UsersService) -> None:
    email = _email()
    created = httpx.post(f"{users.url}/user", json={"name": " Ada ", "email": email})

    assert created.status_code == 201
    body = created.json()
    assert body["name"] == "Ada"
    assert body["email"] == email
    assert body["avatar_url"] is None
    assert created.headers["location"] == f"/users/{body['id']}"
    fetched = httpx.get(f"{users.url}{created.headers['location']}")
    assert fetched.status_code == 200
    assert fetched.json() == body


def test_list_is_a_json_array_paginated_by_link_header(users: UsersService) -> None:
    created = {_create(users).json()["id"] for _ in range(5)}

    seen: list[str] = []
    url: str | None = f"{users.url}/users?limit=2"
    while url:
        page = httpx.get(url)
        assert page.status_code == 200
        assert isinstance(page.json(), list)
        assert len(page.json()) <= 2
        seen += [user["id"] for user in page.json()]
        link = page.links.get("next")
        url = f"{users.url}{link['url']}" if link else None

    assert len(seen) == len(set(seen)), "a user was listed twice"
    assert created <= set(seen)


def test_duplicate_email_is_409_whatever_its_case(users: UsersService) -> None:
    email = _email()
    first = httpx.post(f"{users.url}/user", json={"name": "A", "email": email})
    again = httpx.post(f"{users.url}/user", json={"name": "B", "email": email.upper()})

    assert first.status_code == 201
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")


def test_bad_bodies_are_422_with_field_paths(users: UsersService) -> None:
    cases = [
        {"name": "A", "email": "not-an-email"},
        {"name": "", "email": _email()},
        {"name": "x" * 201, "email": _email()},
        {"name": "A", "email": _email(), "is_admin": True},
        {"email": _email()},
    ]
    for body in cases:
        response = httpx.post(f"{users.url}/user", json=body)
        assert response.status_code == 422, body
        assert response.headers["content-type"].startswith("application/problem+json")
    unknown_form_field = httpx.post(
        f"{users.url}/user", data={"name": "A", "email": _email(), "role": "admin"}
    )
    assert unknown_form_field.status_code == 422


def test_unsupported_body_type_and_bad_cursor_are_4xx(users: UsersService) -> None:
    assert (
        httpx.post(
            f"{users.url}/user", content=b"name=A", headers={"content-type": "text/plain"}
        ).status_code
        == 415
    )
    assert (
        httpx.post(
            f"{users.url}/user", content=b"{", headers={"content-type": "application/json"}
        ).status_code
        == 400
    )
    assert httpx.get(f"{users.url}/users", params={"cursor": "garbage!"}).status_code == 400
    assert httpx.get(f"{users.url}/users", params={"limit": 201}).status_code == 422


def test_unknown_user_is_404(users: UsersService) -> None:
    assert httpx.get(f"{users.url}/users/nope").status_code == 404
    assert httpx.get(f"{users.url}/users/nope/avatar").status_code == 404
    assert httpx.delete(f"{users.url}/users/nope").status_code == 404


def test_a_user_without_an_avatar_has_none_to_redirect_to(users: UsersService) -> None:
    user_id = _create(users).json()["id"]

    response = httpx.get(f"{users.url}/users/{user_id}/avatar", follow_redirects=False)

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "this user has no avatar"


def test_an_empty_avatar_file_is_422_and_stores_nothing(users: UsersService) -> None:
    user_id = _create(users).json()["id"]

    response = httpx.put(
        f"{users.url}/users/{user_id}/avatar", files={"file": ("a.png", b"", "image/png")}
    )

    assert response.status_code == 422
    assert response.json()["detail"] == "the avatar file is empty"
    assert users.avatar_keys(user_id) == []


def test_multipart_create_stores_a_private_encrypted_avatar(users: UsersService) -> None:
    created = _create(users, avatar=("me.png", PNG, "application/octet-stream"))

    assert created.status_code == 201, created.text
    user = created.json()
    assert user["avatar_url"] == f"/users/{user['id']}/avatar"
    [key] = users.avatar_keys(user["id"])
    assert key.startswith(f"avatars/{user['id']}/")
    assert key.endswith(".png")
    head = users.s3().head_object(Bucket=users.bucket, Key=key)
    assert head["ContentType"] == "image/png"
    assert head["ServerSideEncryption"] == "AES256"
    grants = users.s3().get_object_acl(Bucket=users.bucket, Key=key)["Grants"]
    assert not any("AllUsers" in str(grant.get("Grantee", {})) for grant in grants)

    redirect = httpx.get(f"{users.url}{user['avatar_url']}")
    assert redirect.status_code == 302
    presigned = redirect.headers["location"]
    assert "X-Amz-Signature=" in presigned
    assert "X-Amz-Expires=" in presigned
    assert httpx.get(presigned).content == PNG


def test_type_is_judged_by_content_not_by_name(users: UsersService) -> None:
    user_id = _create(users).json()["id"]

    png_named_txt = httpx.put(
        f"{users.url}/users/{user_id}/avatar", files={"file": ("notes.txt", PNG, "text/plain")}
    )
    text_named_png = httpx.put(
        f"{users.url}/users/{user_id}/avatar",
        files={"file": ("me.png", b"just some text, not an image", "image/png")},
    )

    assert png_named_txt.status_code == 201
    assert text_named_png.status_code == 415
    assert text_named_png.headers["content-type"].startswith("application/problem+json")
    assert len(users.avatar_keys(user_id)) == 1, "the refused file must not be stored"


def test_replacing_an_avatar_deletes_the_old_object(users: UsersService) -> None:
    user_id = _create(users, avatar=("a.png", PNG, "image/png")).json()["id"]
    [old_key] = users.avatar_keys(user_id)

    replaced = httpx.put(
        f"{users.url}/users/{user_id}/avatar", files={"file": ("b.jpg", JPEG, "image/jpeg")}
    )

    assert replaced.status_code == 201
    [new_key] = users.avatar_keys(user_id)
    assert new_key != old_key
    assert new_key.endswith(".jpg")
    head = users.s3().head_object(Bucket=users.bucket, Key=new_key)
    assert head["ContentType"] == "image/jpeg"


def test_original_upload_route_sets_the_avatar(users: UsersService) -> None:
    user_id = _create(users).json()["id"]

    uploaded = httpx.post(
        f"{users.url}/upload",
        data={"user_id": user_id},
        files={"file": ("x.gif", b"GIF89a" + b"\0" * 32, "image/gif")},
    )

    assert uploaded.status_code == 201
    assert uploaded.json() == {"file_url": f"/users/{user_id}/avatar"}
    assert (
        httpx.get(f"{users.url}/users/{user_id}").json()["avatar_url"] == f"/users/{user_id}/avatar"
    )


def test_upload_for_a_missing_user_is_404_and_stores_nothing(users: UsersService) -> None:
    before = users.avatar_keys()
    response = httpx.post(
        f"{users.url}/upload",
        data={"user_id": "ghost"},
        files={"file": ("a.png", PNG, "image/png")},
    )
    assert response.status_code == 404
    assert users.avatar_keys() == before


def test_failed_create_leaves_no_orphan_object(users: UsersService) -> None:
    email = _email()
    assert httpx.post(f"{users.url}/user", json={"name": "A", "email": email}).status_code == 201
    before = users.avatar_keys()

    duplicate = httpx.post(
        f"{users.url}/user",
        data={"name": "B", "email": email},
        files={"avatar": ("a.png", PNG, "image/png")},
    )

    assert duplicate.status_code == 409
    assert users.avatar_keys() == before


def test_delete_removes_the_user_its_avatar_and_frees_the_email(users: UsersService) -> None:
    created = _create(users, avatar=("a.png", PNG, "image/png")).json()

    assert httpx.delete(f"{users.url}/users/{created['id']}").status_code == 204

    assert httpx.get(f"{users.url}/users/{created['id']}").status_code == 404
    assert users.avatar_keys(created["id"]) == []
    again = httpx.post(f"{users.url}/user", json={"name": "A", "email": created["email"]})
    assert again.status_code == 201


async def test_twenty_concurrent_creates_with_one_email_make_one_user(users: UsersService) -> None:
    email = _email()
    async with httpx.AsyncClient(base_url=users.url, timeout=30) as client:
        responses = await asyncio.gather(
            *(client.post("/user", json={"name": f"n{i}", "email": email}) for i in range(20))
        )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [409] * 19


def test_forwarded_prefix_is_used_in_links(users: UsersService) -> None:
    created = httpx.post(
        f"{users.url}/user",
        json={"name": "A", "email": _email()},
        headers={"X-Forwarded-Prefix": "/api"},
    )
    assert created.headers["location"].startswith("/api/users/")
