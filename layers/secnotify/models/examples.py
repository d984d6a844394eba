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
INTEGRATION_KEEPING_SECRET: dict[str, Any] = {
    **INTEGRATION,
    "generateSigningSecret": False,
    "webhook": {
        "url": "https://hooks.example.com/services/T000/B000",
        "headers": [
            {"name": "Content-Type", "value": "application/json"},
            {"name": "Authorization", "secret": True},
        ],
        "payload": '{"text": "{Severity} {SecurityProblemId}: {Title}"}',
    },
}
EVENT_DETAIL: dict[str, Any] = {
    "securityProblemId": "11497873967941161718",
    "displayId": "S-1234",
    "title": "Remote Code Execution in log4j-core",
    "riskAssessment": {"riskLevel": "CRITICAL", "riskScore": 10.0},
    "managementZones": [{"id": "123", "name": "production"}],
}
