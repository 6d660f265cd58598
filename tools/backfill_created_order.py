"""Give every job written before the listing's tie-break its sort key, so it lists again.

    python -m tools.backfill_created_order [--stage homolog]

The by-owner and by-user indexes sort on ``createdOrder`` (the creation time, then
the job id: chalicelib/jobs/dynamodb.py); a job item without it is in neither, so
it is missing from GET /jobs and from usage until this has run once after the
deploy that added it. It scans the jobs table for items without the attribute and
sets it, each write conditioned on the item still lacking it; running it again
changes nothing. AWS credentials and endpoint come from the usual boto3 settings.
"""
import argparse
from typing import Iterator

from chalicelib.aws import dynamodb_table
from chalicelib.clock import parse_iso
from chalicelib.jobs.items import BY_OWNER, created_order_of
from chalicelib.resources import resource_names
from chalicelib.store import is_conditional_failure


def items_without_order(table) -> Iterator[dict]:
    kwargs = {"FilterExpression": "attribute_not_exists(#o)",
              "ProjectionExpression": "jobId, createdAt",
              "ExpressionAttributeNames": {"#o": BY_OWNER.range_key}}
    while True:
        page = table.scan(**kwargs)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def backfill(table) -> int:
    """Set the sort key on every job item lacking it; how many were set."""
    from botocore.exceptions import ClientError
    done = 0
    for item in items_without_order(table):
        try:
            table.update_item(
                Key={"jobId": item["jobId"]}, UpdateExpression="SET #o = :o",
                ConditionExpression="attribute_exists(jobId) AND attribute_not_exists(#o)",
                ExpressionAttributeNames={"#o": BY_OWNER.range_key},
                ExpressionAttributeValues={
                    ":o": created_order_of(parse_iso(item["createdAt"]), item["jobId"])})
            done += 1
        except ClientError as e:
            if not is_conditional_failure(e):
                raise
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="homolog")
    args = parser.parse_args()
    table = dynamodb_table(resource_names(args.stage).jobs_table)
    print(f"{backfill(table)} jobs given their listing key")


if __name__ == "__main__":
    main()
