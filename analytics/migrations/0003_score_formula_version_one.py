from decimal import Decimal

from django.db import migrations


def create_version_one(apps, schema_editor):
    ScoreFormula = apps.get_model("analytics", "ScoreFormula")
    if not ScoreFormula.objects.exists():
        ScoreFormula.objects.create(
            version=1,
            likes_weight=Decimal("1"),
            comments_weight=Decimal("1.5"),
            shares_weight=Decimal("2"),
            saves_weight=Decimal("2"),
            tips_weight=Decimal("0"),
            is_active=True,
            notes="產品設計的互動分數：按讚 × 1 + 留言 × 1.5 + 分享 × 2 + 收藏 × 2（打賞權重 0）。",
        )


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0002_collection_claims_formula_kol_snapshots"),
    ]

    operations = [migrations.RunPython(create_version_one, migrations.RunPython.noop)]
