"""The grammar of prompt templates: the variables they may use, how they render, how they are checked.

The model (kols.models.PromptTemplate.clean) and the services (kols/prompt_templates.py) both use this
module, which imports neither.

Templates use Django template syntax (``{{ stock_name }}``, ``{% if has_news %}…{% endif %}``,
``{% for rule in style_rules %}``) rendered without HTML escaping. They are checked when saved: the
syntax must compile, every variable must be one of PROMPT_VARIABLES, and ``{{ market_data }}`` and
``{{ data_rules }}`` must appear, so that no template can leave out the data or the rule that the model
may only use that data.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.template import Context, Engine, Template, TemplateSyntaxError
from django.template.base import FilterExpression, Variable, VariableNode
from django.template.defaulttags import ForNode
from django.utils.translation import gettext as _

# The contract between templates and posting/generation/prompts.py, which fills in exactly these names.
PROMPT_VARIABLES: dict[str, str] = {
    "kol_name": "KOL 暱稱",
    "persona": "人設類型（技術派、消息派…）",
    "persona_card": "整理好的人設卡（口吻、風格規則、禁區、語氣、簽名、常用語、表情符號）",
    "backstory": "背景故事",
    "content_style": "內容風格",
    "target_audience": "目標讀者",
    "style_rules": "風格規則（清單）",
    "guardrails": "禁區（清單）",
    "tone": "語氣描述（清單，由 1–10 的語氣滑桿換成文字）",
    "signature": "簽名（可能為空）",
    "common_phrases": "常用語（清單）",
    "emoji_rule": "表情符號使用規則",
    "post_type": "貼文類型名稱",
    "stock_code": "股票代號",
    "stock_name": "股票名稱",
    "market_data": "市場資料快照（模型唯一可引用的數字）",
    "data_rules": "資料使用規則（可提及與不可提及的項目）",
    "has_news": "快照中是否有新聞",
    "news_block": "新聞清單（沒有新聞時為空）",
    "trigger_reasons": "觸發原因（清單）",
    "trigger_block": "觸發原因（整理好的文字）",
    "length_min": "內文最少字數",
    "length_max": "內文最多字數",
    "has_playbook": "是否有啟用中的寫作建議",
    "playbook_block": "寫作建議：由過往成效整理的摘要（可能為空；模板沒用到時自動附在使用者訊息最後）",
}
REQUIRED_VARIABLES = ("market_data", "data_rules")

_ENGINE = Engine(autoescape=False)
_BLANK_LINES = re.compile(r"\n{3,}")


def prompt_render(source: str, context: dict[str, Any]) -> str:
    """Render one template string; runs of blank lines left by ``{% if %}`` blocks collapse to one."""
    text = _ENGINE.from_string(source).render(Context(context, autoescape=False))
    return _BLANK_LINES.sub("\n\n", text).strip()


def _names_in(expression: FilterExpression | str) -> set[str]:
    if not isinstance(expression, FilterExpression):
        return set()
    var = expression.var
    if isinstance(var, Variable) and var.lookups:
        return {var.lookups[0]}
    return set()


def _variables(template: Template) -> set[str]:
    loop_names = {"forloop"}
    used: set[str] = set()
    for loop in template.nodelist.get_nodes_by_type(ForNode):
        if isinstance(loop, ForNode):
            loop_names.update(loop.loopvars)
            used |= _names_in(loop.sequence)
    for node in template.nodelist.get_nodes_by_type(VariableNode):
        if isinstance(node, VariableNode):
            used |= _names_in(node.filter_expression)
    return used - loop_names


def prompt_sources_validate(*, system_prompt: str, user_prompt: str) -> None:
    """Raise a ValidationError naming the field and the problem: bad syntax, unknown or missing variables."""
    errors: dict[str, list[str]] = {}
    used: set[str] = set()
    for field, source in (("system_prompt", system_prompt), ("user_prompt", user_prompt)):
        try:
            names = _variables(_ENGINE.from_string(source))
        except TemplateSyntaxError as exc:
            errors.setdefault(field, []).append(_("Template syntax error: %(error)s") % {"error": exc})
            continue
        unknown = sorted(names - set(PROMPT_VARIABLES))
        if unknown:
            errors.setdefault(field, []).append(
                _("Unknown variables: %(names)s. Available: %(available)s.")
                % {"names": ", ".join(unknown), "available": ", ".join(PROMPT_VARIABLES)}
            )
        used |= names
    missing = [name for name in REQUIRED_VARIABLES if name not in used]
    if missing and not errors:
        errors["user_prompt"] = [
            _("The prompt must include %(names)s: the model may only use the data given to it.")
            % {"names": ", ".join("{{ " + name + " }}" for name in missing)}
        ]
    if errors:
        raise ValidationError(errors)
