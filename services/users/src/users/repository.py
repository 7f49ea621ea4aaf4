"""User records in one DynamoDB table (hash key `id`).

Two kinds of item share the table: the user (`id` = user id, `kind` = "user") and an
email claim (`id` = "email#" + lower-cased email, `kind` = "email") that makes emails
unique. A user and its claim are written and deleted together in one transaction, so
uniqueness holds under concurrent creates without a read-then-write race.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from users.aws import Aws, error_code

USER = "user"
EMAIL_CLAIM_PREFIX = "email#"


class DuplicateEmail(Exception):
    pass


class UserNotFound(Exception):
    pass


class InvalidCursor(Exception):
    """A page cursor this service did not issue (or a user id no page can start after)."""

    def __init__(self) -> None:
        super().__init__("cursor is not one this service issued")


@dataclass(frozen=True)
class UserRecord:
    id: str
    name: str
    email: str
    created_at: str
    avatar_key: str | None = None
    avatar_content_type: str | None = None
    owner: str | None = None  # the identity subject that created the user

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> UserRecord:
        def text(name: str) -> str | None:
            value = item.get(name)
            return value["S"] if value else None

        return cls(
            id=item["id"]["S"],
            name=item["name"]["S"],
            email=item["email"]["S"],
            created_at=item["created_at"]["S"],
            avatar_key=text("avatar_key"),
            avatar_content_type=text("avatar_content_type"),
            owner=text("owner"),
        )

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": {"S": self.id},
            "kind": {"S": USER},
            "name": {"S": self.name},
            "email": {"S": self.email},
            "created_at": {"S": self.created_at},
        }
        if self.owner:
            item["owner"] = {"S": self.owner}
        if self.avatar_key:
            item["avatar_key"] = {"S": self.avatar_key}
            item["avatar_content_type"] = {"S": self.avatar_content_type or ""}
        return item


def email_claim_id(email: str) -> str:
    return EMAIL_CLAIM_PREFIX + email.casefold()


def encode_cursor(user_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"id": user_id}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        user_id = json.loads(base64.urlsafe_b64decode(padded.encode()))["id"]
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise InvalidCursor() from None
    if not isinstance(user_id, str) or not user_id or user_id.startswith(EMAIL_CLAIM_PREFIX):
        raise InvalidCursor()
    return user_id


class UserRepository:
    def __init__(self, aws: Aws, table: str) -> None:
        self.aws = aws
        self.table = table

    async def create(self, user: UserRecord) -> None:
        """Insert the user and claim its email atomically; DuplicateEmail if taken."""
        claim = {"id": {"S": email_claim_id(user.email)}, "kind": {"S": "email"}}
        claim["user_id"] = {"S": user.id}
        absent = "attribute_not_exists(id)"
        items = [
            {"Put": {"TableName": self.table, "Item": claim, "ConditionExpression": absent}},
            {
                "Put": {
                    "TableName": self.table,
                    "Item": user.to_item(),
                    "ConditionExpression": absent,
                }
            },
        ]
        try:
            await self.aws.on_dynamodb(
                lambda: self.aws.dynamodb.transact_write_items(TransactItems=items)
            )
        except ClientError as error:
            if error_code(error) == "TransactionCanceledException":
                raise DuplicateEmail(user.email) from error
            raise

    async def get(self, user_id: str) -> UserRecord:
        if user_id.startswith(EMAIL_CLAIM_PREFIX):
            raise UserNotFound(user_id)
        response = await self.aws.on_dynamodb(
            lambda: self.aws.dynamodb.get_item(
                TableName=self.table, Key={"id": {"S": user_id}}, ConsistentRead=True
            )
        )
        item = response.get("Item")
        if not item or item.get("kind", {}).get("S") != USER:
            raise UserNotFound(user_id)
        return UserRecord.from_item(item)

    async def page(self, limit: int, after: str | None) -> tuple[list[UserRecord], str | None]:
        """Up to `limit` users after the user id `after`, and the next page's cursor."""
        users: list[UserRecord] = []
        start = {"id": {"S": after}} if after else None
        while len(users) < limit:
            request: dict[str, Any] = {
                "TableName": self.table,
                "Limit": limit - len(users),
                "FilterExpression": "kind = :user",
                "ExpressionAttributeValues": {":user": {"S": USER}},
            }
            if start:
                request["ExclusiveStartKey"] = start
            response = await self.aws.on_dynamodb(
                lambda request=request: self.aws.dynamodb.scan(**request)
            )
            users.extend(UserRecord.from_item(item) for item in response.get("Items", []))
            start = response.get("LastEvaluatedKey")
            if not start:
                return users, None
        return users, encode_cursor(users[-1].id)

    async def set_avatar(self, user_id: str, key: str, content_type: str) -> str | None:
        """Point the user at a new avatar object; the previous key, if any."""
        try:
            response = await self.aws.on_dynamodb(
                lambda: self.aws.dynamodb.update_item(
                    TableName=self.table,
                    Key={"id": {"S": user_id}},
                    UpdateExpression="SET avatar_key = :key, avatar_content_type = :type",
                    ConditionExpression="kind = :user",
                    ExpressionAttributeValues={
                        ":key": {"S": key},
                        ":type": {"S": content_type},
                        ":user": {"S": USER},
                    },
                    ReturnValues="UPDATED_OLD",
                )
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                raise UserNotFound(user_id) from error
            raise
        previous = response.get("Attributes", {}).get("avatar_key")
        return previous["S"] if previous else None

    async def delete(self, user: UserRecord) -> None:
        items = [
            {
                "Delete": {
                    "TableName": self.table,
                    "Key": {"id": {"S": user.id}},
                    "ConditionExpression": "attribute_exists(id)",
                }
            },
            {
                "Delete": {
                    "TableName": self.table,
                    "Key": {"id": {"S": email_claim_id(user.email)}},
                }
            },
        ]
        try:
            await self.aws.on_dynamodb(
                lambda: self.aws.dynamodb.transact_write_items(TransactItems=items)
            )
        except ClientError as error:
            if error_code(error) == "TransactionCanceledException":
                raise UserNotFound(user.id) from error
            raise
