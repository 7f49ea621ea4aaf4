"""Baseline for bench/catalog_cold_start.py: the original catalog Lambda in a few lines.

`boto3.resource` at import, one Scan with no pagination (silently truncates past 1 MB),
a Decimal encoder that turns every number into a float (`128000.0`), errors without a
content type, no caching. Not for use: a baseline.
"""

import json
import os
from decimal import Decimal
from typing import Any

import boto3

dynamodb: Any = boto3.resource("dynamodb")  # boto3 resources are untyped
table = dynamodb.Table(os.environ.get("TABLE_NAME", "llm_scores"))


class DecimalEncoder(json.JSONEncoder):
    def default(self, o):
        if isinstance(o, Decimal):
            return float(o)
        return super().default(o)


def lambda_handler(event, context):
    try:
        items = table.scan()["Items"]
        return {"statusCode": 200, "body": json.dumps(items, cls=DecimalEncoder)}
    except Exception as error:
        return {"statusCode": 500, "body": json.dumps({"error": str(error)})}
