from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from posting.models import ComplianceRule
from tests.factories import default_compliance_rules

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _default_rules(db: None) -> None:
    default_compliance_rules()


def test_the_rule_list_and_a_rule_page_open(admin_client: Client) -> None:
    assert admin_client.get(reverse("admin:posting_compliancerule_changelist")).status_code == 200
    rule = ComplianceRule.objects.get(code="guaranteed_return")
    page = admin_client.get(reverse("admin:posting_compliancerule_change", args=[rule.pk]))
    assert page.status_code == 200
    assert "保證" in page.content.decode()


def test_an_administrator_edits_phrases_one_per_line(administrator: User) -> None:
    client = Client()
    client.force_login(administrator)
    response = client.post(
        reverse("admin:posting_compliancerule_add"),
        {
            "code": "teacher_pick",
            "category": "solicitation",
            "kind": "forbidden",
            "severity": "warn",
            "message": "老師口袋股屬於招攬用語。",
            "pattern": "",
            "phrases": "口袋飆股\n\n 獨門飆股 \n",
            "applies_pattern": "",
            "unless_pattern": "",
            "skip_negated": "on",
            "active": "on",
            "notes": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert ComplianceRule.objects.get(code="teacher_pick").phrases == ["口袋飆股", "獨門飆股"]


def test_a_broken_expression_is_shown_as_a_form_error(admin_client: Client) -> None:
    rule = ComplianceRule.objects.get(code="rumour")
    response = admin_client.post(
        reverse("admin:posting_compliancerule_change", args=[rule.pk]),
        {
            "code": rule.code,
            "category": rule.category,
            "kind": rule.kind,
            "severity": rule.severity,
            "message": rule.message,
            "pattern": "謠傳(",
            "phrases": "",
            "applies_pattern": "",
            "unless_pattern": "",
            "active": "on",
            "notes": "",
        },
    )
    assert response.status_code == 200
    assert "pattern" in response.context["adminform"].form.errors
    assert ComplianceRule.objects.get(pk=rule.pk).pattern == rule.pattern


def test_the_deactivate_action_switches_rules_off(admin_client: Client) -> None:
    rule = ComplianceRule.objects.get(code="rumour")
    response = admin_client.post(
        reverse("admin:posting_compliancerule_changelist"),
        {"action": "deactivate", "_selected_action": [str(rule.pk)]},
    )
    assert response.status_code == 302
    assert not ComplianceRule.objects.get(pk=rule.pk).active


def test_a_reviewer_cannot_change_rules(reviewer: User) -> None:
    client = Client()
    client.force_login(reviewer)
    rule = ComplianceRule.objects.first()
    assert rule is not None
    url = reverse("admin:posting_compliancerule_change", args=[rule.pk])
    assert client.post(url, {"code": "x"}).status_code == 403
