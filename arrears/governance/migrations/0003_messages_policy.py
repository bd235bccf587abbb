"""The `messages` data class (the texts of sent messages and of replies) and its policy row.

Days: 1826 (five years), the default of the other classes. The seeds keep every collection
record for five years: "全部的案件催收资料〔含:原始数据、催收报告、备份录音等〕都应当保存到和客户合作
协议终止后的5年" (../shared/seeds/004, 资料备份保存的规定), "按規定期限(如3-5年)存儲催收記錄"
(seed 002), and copies of notices sent to a debtor are kept for the creditor's review (seed 001
§13); recordings at least five years (../shared/design/compliance-rules.md C7).

On a new database `0002_seed_policies` (which calls today's `retention_policy_defaults_ensure`)
already makes this row; then this migration leaves it alone.
"""

from django.db import migrations, models


def seed(apps, schema_editor):
    apps.get_model("governance", "RetentionPolicy").objects.get_or_create(
        data_class="messages",
        defaults={
            "enabled": True,
            "days": 1826,
            "action": "anonymise",
            "note": "已结束发送的短信、邮件、信函及收到的回复:正文、标题和变量匿名化;发送记录保留",
        },
    )


def unseed(apps, schema_editor):
    apps.get_model("governance", "RetentionPolicy").objects.filter(data_class="messages").delete()


class Migration(migrations.Migration):

    dependencies = [
        ('governance', '0002_seed_policies'),
    ]

    operations = [
        migrations.AlterField(
            model_name='retentionpolicy',
            name='data_class',
            field=models.CharField(choices=[('personal_data_after_closure', '结清后的个人信息'), ('import_files', '导入原始文件'), ('import_row_errors', '导入错误行'), ('activities_recordings', '催收记录与录音'), ('messages', '消息正文')], max_length=40, unique=True, verbose_name='数据类别'),
        ),
        migrations.RunPython(seed, unseed),
    ]
