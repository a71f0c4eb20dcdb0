from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from knox.models import AbstractAuthToken

from kols.fields import EncryptedTextField
from kols.prompt_syntax import prompt_sources_validate

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class Persona(models.TextChoices):
    TECHNICAL = "technical", _("Technical (技術派)")
    FUNDAMENTAL = "fundamental", _("Fundamental (基本面派)")
    NEWS = "news", _("News (消息派)")
    CHIPS = "chips", _("Chips / fund flows (籌碼派)")
    MACRO = "macro", _("Macro (總經派)")
    SENTIMENT = "sentiment", _("Sentiment (情緒派)")
    VALUE = "value", _("Value (價值派)")


class EmojiUse(models.TextChoices):
    NONE = "none", _("None")
    LIGHT = "light", _("Light")
    HEAVY = "heavy", _("Heavy")


TONE_VALIDATORS = [MinValueValidator(1), MaxValueValidator(10)]
TONE_FIELDS = ("tone_formal", "tone_emotion", "tone_confidence", "tone_urgency", "tone_interaction")


def validate_posting_times(value: object) -> None:
    """A list of distinct "HH:MM" strings (24-hour clock)."""
    if not isinstance(value, list):
        raise ValidationError(_('Posting times must be a list such as ["08:30", "13:45"].'))
    for item in value:
        hour, sep, minute = str(item).partition(":")
        valid = (
            isinstance(item, str) and sep and hour.isdigit() and minute.isdigit() and len(minute) == 2
            and int(hour) < 24 and int(minute) < 60
        )  # fmt: skip
        if not valid:
            raise ValidationError(_("%(value)r is not a time of day as HH:MM.") % {"value": item})
    if len(set(value)) != len(value):
        raise ValidationError(_("Posting times must not repeat."))


def _tone(label: StrOrPromise) -> models.PositiveSmallIntegerField[int, int]:
    return models.PositiveSmallIntegerField(
        label, default=5, validators=TONE_VALIDATORS, help_text=_("1 to 10")
    )


class KOL(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")

    serial = models.CharField(_("serial"), max_length=32, unique=True, help_text=_("The platform member id."))
    nickname = models.CharField(_("nickname"), max_length=100)
    persona = models.CharField(_("persona"), max_length=20, choices=Persona.choices)
    content_style = models.CharField(_("content style"), max_length=200, blank=True)
    target_audience = models.CharField(_("target audience"), max_length=200, blank=True)
    expertise_industries = models.JSONField(
        _("expertise: industries"),
        default=list,
        blank=True,
        help_text=_("Industry names, as in the stock master."),
    )
    expertise_keywords = models.JSONField(_("expertise: keywords"), default=list, blank=True)

    # Persona card.
    backstory = models.TextField(_("backstory"), blank=True)
    style_rules = models.JSONField(_("style rules"), default=list, blank=True)
    guardrails = models.JSONField(_("guardrails"), default=list, blank=True)
    signature = models.CharField(_("signature"), max_length=200, blank=True)
    common_phrases = models.JSONField(_("common phrases"), default=list, blank=True)
    emoji_use = models.CharField(
        _("emoji use"), max_length=10, choices=EmojiUse.choices, default=EmojiUse.LIGHT
    )

    tone_formal = _tone(_("tone: formal"))
    tone_emotion = _tone(_("tone: emotion"))
    tone_confidence = _tone(_("tone: confidence"))
    tone_urgency = _tone(_("tone: urgency"))
    tone_interaction = _tone(_("tone: interaction"))

    # Empty means the site default (LLM_MODEL and friends).
    llm_model = models.CharField(_("model"), max_length=100, blank=True)
    llm_temperature = models.DecimalField(
        _("temperature"),
        max_digits=3,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(2)],
    )
    llm_max_tokens = models.PositiveIntegerField(
        _("max tokens"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(32000)]
    )

    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    dry_run = models.BooleanField(
        _("dry run"), default=True, help_text=_("Record what would be published instead of posting it.")
    )
    max_posts_per_hour = models.PositiveSmallIntegerField(
        _("posts per hour (cap)"), default=2, validators=[MinValueValidator(1)]
    )
    max_posts_per_day = models.PositiveSmallIntegerField(
        _("posts per day (cap)"), default=6, validators=[MinValueValidator(1)]
    )
    posting_times = models.JSONField(
        _("posting times"),
        default=list,
        blank=True,
        validators=[validate_posting_times],
        help_text=_(
            'Times of day (Asia/Taipei) for "next free slot", e.g. ["08:30", "13:45"]. Empty = site default.'
        ),
    )
    is_demo = models.BooleanField(_("demo"), default=False, help_text=_("Created by the demo command."))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("KOL")
        verbose_name_plural = _("KOLs")
        ordering = ["nickname"]
        constraints = [
            *[
                models.CheckConstraint(
                    condition=Q(**{f"{name}__gte": 1, f"{name}__lte": 10}), name=f"kol_{name}_1_10"
                )
                for name in TONE_FIELDS
            ],
            models.CheckConstraint(
                condition=Q(llm_temperature__isnull=True) | Q(llm_temperature__gte=0, llm_temperature__lte=2),
                name="kol_temperature_0_2",
            ),
            models.CheckConstraint(
                condition=Q(llm_max_tokens__isnull=True) | Q(llm_max_tokens__gte=1),
                name="kol_max_tokens_positive",
            ),
            models.CheckConstraint(
                condition=Q(max_posts_per_hour__gte=1, max_posts_per_day__gte=models.F("max_posts_per_hour")),
                name="kol_caps_hour_within_day",
            ),
            models.CheckConstraint(condition=Q(persona__in=Persona.values), name="kol_persona_valid"),
            models.CheckConstraint(condition=Q(status__in=["active", "paused"]), name="kol_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.nickname} ({self.serial})"


class PersonaVersion(models.Model):
    """One saved state of a KOL's persona card; a post records the version it was written with."""

    kol = models.ForeignKey(
        KOL, on_delete=models.CASCADE, related_name="persona_versions", verbose_name=_("KOL")
    )
    number = models.PositiveIntegerField(_("version"))
    card = models.JSONField(_("persona card"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("saved by"),
    )
    created_at = models.DateTimeField(_("saved"), auto_now_add=True)

    class Meta:
        verbose_name = _("persona version")
        verbose_name_plural = _("persona versions")
        ordering = ["kol", "-number"]
        constraints = [models.UniqueConstraint(fields=["kol", "number"], name="persona_version_unique")]

    def __str__(self) -> str:
        return f"{self.kol_id} v{self.number}"


class Platform(models.TextChoices):
    CMONEY = "cmoney", _("CMoney 同學會")
    WEBHOOK = "webhook", _("Webhook")


class PlatformAccount(models.Model):
    """A KOL's login on one platform. Credentials and token are encrypted at rest and never shown."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")

    kol = models.ForeignKey(KOL, on_delete=models.CASCADE, related_name="accounts", verbose_name=_("KOL"))
    platform = models.CharField(
        _("platform"), max_length=20, choices=Platform.choices, default=Platform.CMONEY
    )
    login = EncryptedTextField(_("login"), blank=True)
    password = EncryptedTextField(_("password"), blank=True)
    access_token = EncryptedTextField(_("access token"), blank=True)
    token_expires_at = models.DateTimeField(_("token expires"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    paused_reason = models.CharField(_("paused because"), max_length=300, blank=True)
    auth_failures = models.PositiveSmallIntegerField(_("authentication failures in a row"), default=0)
    last_login_at = models.DateTimeField(_("last login"), null=True, blank=True)
    rate_limited_until = models.DateTimeField(
        _("rate limited until"),
        null=True,
        blank=True,
        help_text=_("The platform answered 429: nothing is sent from this account before this time."),
    )
    is_demo = models.BooleanField(_("demo"), default=False, help_text=_("Created by the demo command."))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("platform account")
        verbose_name_plural = _("platform accounts")
        constraints = [
            models.UniqueConstraint(fields=["kol", "platform"], name="account_one_per_kol_platform"),
            models.CheckConstraint(condition=Q(platform__in=Platform.values), name="account_platform_valid"),
            models.CheckConstraint(
                condition=Q(status="active") | ~Q(paused_reason=""), name="account_paused_has_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kol.nickname} @ {self.get_platform_display()}"

    def __repr__(self) -> str:
        return f"<PlatformAccount {self.pk} kol={self.kol_id} platform={self.platform}>"

    @property
    def has_credentials(self) -> bool:
        return bool(self.login) and bool(self.password)

    @property
    def login_hint(self) -> str:
        """The login with most of it masked ("k***@example.com"): enough to tell accounts apart."""
        value = self.login.reveal()
        if not value:
            return ""
        name, at, domain = value.partition("@")
        return f"{name[:1]}***{at}{domain}" if at else f"{value[:1]}***"


class PostType(models.TextChoices):
    ANALYSIS = "analysis", _("Analysis")
    QUESTION = "question", _("Question to the audience")
    NEWS_COMMENTARY = "news_commentary", _("News commentary")


class PromptTemplate(models.Model):
    """A versioned prompt for one post type, written in Django template syntax.

    Posts record the ``version`` they were generated with, so a template's text is frozen once it has
    been activated: to change the wording, copy it to a new version, edit the copy and activate that.
    The variables a template may use are listed in ``kols.prompt_syntax.PROMPT_VARIABLES``.
    """

    post_type = models.CharField(_("post type"), max_length=20, choices=PostType.choices)
    version = models.CharField(
        _("version"),
        max_length=50,
        unique=True,
        validators=[
            RegexValidator(
                r"^[a-z0-9][a-z0-9._-]*$",
                _("Use lowercase letters, digits, '.', '_' and '-', for example analysis-v3."),
            )
        ],
        help_text=_("Recorded on every post generated with this template, for example analysis-v3."),
    )
    system_prompt = models.TextField(_("system prompt"))
    user_prompt = models.TextField(_("user prompt"))
    is_active = models.BooleanField(
        _("active"), default=False, help_text=_("At most one active template per post type.")
    )
    activated_at = models.DateTimeField(
        _("first activated"),
        null=True,
        blank=True,
        help_text=_("From then on the text is frozen: posts refer to it by version."),
    )
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )

    class Meta:
        verbose_name = _("prompt template")
        verbose_name_plural = _("prompt templates")
        ordering = ["post_type", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["post_type"], condition=Q(is_active=True), name="prompt_template_one_active_per_type"
            ),
            models.CheckConstraint(
                condition=Q(post_type__in=PostType.values), name="prompt_template_post_type_valid"
            ),
            models.CheckConstraint(condition=~Q(version=""), name="prompt_template_version_not_empty"),
            models.CheckConstraint(
                condition=Q(is_active=False) | Q(activated_at__isnull=False),
                name="prompt_template_active_has_activation_time",
            ),
        ]

    def __str__(self) -> str:
        return self.version

    def clean(self) -> None:

        prompt_sources_validate(system_prompt=self.system_prompt, user_prompt=self.user_prompt)


class Playbook(models.Model):
    """What analytics learned about one KOL, as short guidance lines and best hours, versioned.

    Analytics proposes a version (weekly, from significant findings only); an Administrator reviews and
    activates it. Generation reads the active version, adds its lines to the prompt and records the
    version on the post. At most one version per KOL is active.
    """

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        ACTIVE = "active", _("Active")
        RETIRED = "retired", _("Retired")

    kol = models.ForeignKey(KOL, on_delete=models.CASCADE, related_name="playbooks", verbose_name=_("KOL"))
    version = models.PositiveIntegerField(_("version"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PROPOSED)
    lines = models.JSONField(
        _("guidance lines"), default=list, blank=True, help_text=_("Short sentences, one per finding.")
    )
    best_hours = models.JSONField(
        _("best hours"), default=list, blank=True, help_text=_("Hours of the day (Asia/Taipei), best first.")
    )
    evidence = models.JSONField(_("evidence"), default=list, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("activated by"),
    )

    class Meta:
        verbose_name = _("playbook")
        verbose_name_plural = _("playbooks")
        ordering = ["kol", "-version"]
        permissions = [("activate_playbook", _("Can activate a playbook (its lines go into every prompt)"))]
        constraints = [
            models.UniqueConstraint(fields=["kol", "version"], name="playbook_one_per_kol_version"),
            models.UniqueConstraint(
                fields=["kol"], condition=Q(status="active"), name="playbook_one_active_per_kol"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["proposed", "active", "retired"]), name="playbook_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kol.nickname} v{self.version}"


class ApiToken(AbstractAuthToken):
    """An API token (django-rest-knox): only its SHA-512 digest is stored; the token itself is shown once,
    when it is created. Each has a name and an expiry; users and administrators revoke (delete) tokens,
    nobody can read one."""

    uid = models.UUIDField(_("id"), default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(
        _("name"), max_length=100, help_text=_("What or who uses it, e.g. 'nightly report'.")
    )

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.name} ({self.user})"
