"""Example request bodies for the API description: what a newcomer copies from Swagger."""

from __future__ import annotations

from typing import Any

PROFILE: dict[str, Any] = {
    "name": "Critical and high in production",
    "enabled": True,
    "enabledRiskLevels": ["CRITICAL", "HIGH"],
    "enabledTriggerEvents": ["SECURITY_PROBLEM_OPENED", "SECURITY_PROBLEM_RESOLVED"],
    "managementZone": "production",
}
INTEGRATION: dict[str, Any] = {
    "displayName": "Slack #security",
    "enabled": True,
    "type": "WEBHOOK",
    "alertingProfileId": "3f0c9a52-8d1e-4d5b-9a4f-2b7e1c6d8a90",
    "webhook": {
        "url": "https://hooks.example.com/services/T000/B000",
        "acceptAnyCertificate": False,
        "headers": [
            {"name": "Content-Type", "value": "application/json"},
            {"name": "Authorization", "value": "Bearer 0123456789abcdef", "secret": True},
        ],
        "payload": '{"text": "{Severity} {SecurityProblemId}: {Title} ({SecurityProblemUrl})"}',
    },
    "generateSigningSecret": True,
}
EMAIL_INTEGRATION: dict[str, Any] = {
    "displayName": "Email to the security team",
    "enabled": True,
    "type": "EMAIL",
    "alertingProfileId": "3f0c9a52-8d1e-4d5b-9a4f-2b7e1c6d8a90",
    "email": {
        "recipients": ["secops@example.com"],
        "ccRecipients": ["platform-lead@example.com"],
        "bccRecipients": [],
        "subject": "[{Severity}] {SecurityProblemId}: {Title}",
        "body": '<h2>{Title}</h2><p>Risk {DavisSecurityScore}, {ManagementZones}.</p><p><a href="'
        '{SecurityProblemUrl}">Open the problem</a></p>',
    },
}
# An integration as GET returned it, one field changed: a valid PUT body that keeps every secret.
INTEGRATION_KEEPING_SECRET: dict[str, Any] = {
    "id": "5c2e7f10-4b8a-4e3d-8f6a-1d9b0c7e2a31",
    **{k: v for k, v in INTEGRATION.items() if k != "generateSigningSecret"},
    "signingSecret": {"set": True, "createdAt": "2026-03-02T09:15:00.000Z", "previousValidUntil": None},
    "version": 3,
    "createdAt": "2026-03-02T09:15:00.000Z",
    "updatedAt": "2026-03-09T16:40:12.000Z",
    "webhook": {
        "url": "https://hooks.example.com/services/T000/B000",
        "headers": [
            {"name": "Content-Type", "value": "application/json"},
            {"name": "Authorization", "value": None, "secret": True},
        ],
        "payload": '{"text": "{Severity} {SecurityProblemId}: {Title}"}',
        "acceptAnyCertificate": False,
    },
}
INTEGRATION_ROTATING: dict[str, Any] = {
    **{k: v for k, v in INTEGRATION_KEEPING_SECRET.items() if k != "signingSecret"},
    "generateSigningSecret": True,
    "signingSecretOverlapSeconds": 3600,
}
INTEGRATION_FROM_PRESET: dict[str, Any] = {
    "displayName": "PagerDuty security",
    "alertingProfileId": "3f0c9a52-8d1e-4d5b-9a4f-2b7e1c6d8a90",
    "preset": "pagerduty",
    "presetFields": {"routingKey": "R0123456789ABCDEF0123456789ABCDE"},
}
INTEGRATION_JIRA: dict[str, Any] = {
    "displayName": "Jira SEC",
    "alertingProfileId": "3f0c9a52-8d1e-4d5b-9a4f-2b7e1c6d8a90",
    "type": "JIRA",
    "jiraConfiguration": {
        "url": "https://your-domain.atlassian.net",
        "username": "secops@example.com",
        "apiToken": "ATATT3xFfGF0-example-token",
        "projectKey": "SEC",
        "issueType": "Bug",
    },
}
EVENT_DETAIL: dict[str, Any] = {
    "securityProblemId": "11497873967941161718",
    "displayId": "S-1234",
    "title": "Remote Code Execution in log4j-core",
    "riskAssessment": {"riskLevel": "CRITICAL", "riskScore": 10.0},
    "managementZones": [{"id": "123", "name": "production"}],
}
