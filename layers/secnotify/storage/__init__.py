"""Persistence: the only package that talks to AWS (DynamoDB, SQS) through boto3."""
