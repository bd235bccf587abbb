"""The template editor in a real browser: typing updates the live preview (htmx under the
Content Security Policy, no inline script), a variable button inserts at the cursor, a
refused save shows the reasons, and a second reviewer approves.

Debian's Chromium through Playwright, as in arrears/core/tests/test_browser.py.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from arrears.accounts.models import Role
from arrears.comms.models import Template, TemplateVersion, VersionStatus
from arrears.core.tests.test_browser import PASSWORD, chromium, watch_problems
from arrears.tests.factories import UserFactory

SCREENSHOT = "/tmp/arrears-template-editor.png"


def _login(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_writing_a_template_with_the_live_preview(transactional_db, book, live_server):
    UserFactory(username="cora", role=Role.COMPLIANCE_OFFICER)
    base = live_server.url

    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 1000}, locale="zh-CN")
        problems = watch_problems(page)
        _login(page, base, "sam")

        # A new SMS template, from the menu.
        navigation = page.get_by_role("navigation", name="主导航")
        navigation.get_by_test_id("comms-menu").click()
        navigation.get_by_role("link", name="消息模板").click()
        page.get_by_test_id("template-new").click()
        page.get_by_label("编号").fill("COLLECT_D7")
        page.get_by_label("名称").fill("逾期第7天")
        page.get_by_label("类别").select_option("collection")
        page.get_by_role("button", name="创建").click()
        template = Template.objects.get(code="COLLECT_D7")
        expect(page).to_have_url(f"{base}/comms/templates/{template.pk}/")

        # Typing: the preview renders sample values and marks what the screening refuses.
        body = page.get_by_label("正文")
        body.fill("尊敬的")
        page.get_by_role("button", name=re.compile("客户姓名")).click()
        body.press("End")
        body.type("，你这个白痴，快还钱。")
        preview = page.get_by_test_id("template-preview")
        expect(preview.get_by_test_id("preview-rendered")).to_have_text("尊敬的张伟，你这个白痴，快还钱。")
        expect(preview.locator("mark.screen-hit")).to_have_text("白痴")
        expect(preview).to_contain_text("H12：包含禁用语：白痴。位置：“白痴”（第 24 个字符）")
        expect(preview).to_contain_text("U5：短信和邮件须附退订方式")
        expect(preview.get_by_test_id("preview-problem")).to_have_count(2)
        expect(preview.get_by_test_id("sms-length")).to_contain_text("上限 300 字符")
        page.screenshot(path=SCREENSHOT, full_page=True)

        # Saving the refused text shows the same reasons and writes nothing.
        expect(page.get_by_label("服务商模板编号")).to_have_value("SMS_COLLECT_D7")
        page.get_by_test_id("template-save").click()
        expect(page.get_by_test_id("template-errors")).to_be_visible()
        assert TemplateVersion.objects.filter(template=template).count() == 0
        assert problems == [f"422 {base}/comms/templates/{template.pk}/"]  # the refusal's own status
        problems.clear()

        # A polite text passes and is saved as a draft.
        body.fill("尊敬的${customer_name}，您的账户已逾期${days_past_due}天，请尽快还款。回复TD退订")
        expect(preview.get_by_test_id("screening-ok")).to_be_visible()
        page.get_by_test_id("template-save").click()
        expect(page.get_by_test_id("version-status-1")).to_have_text("待审批")
        expect(page.get_by_test_id("own-draft-1")).to_be_visible()

        # Another reviewer approves it.
        page.get_by_test_id("user-menu").click()
        page.get_by_role("button", name="退出").click()
        _login(page, base, "cora")
        page.goto(f"{base}/comms/templates/{template.pk}/")
        page.get_by_test_id("approve-1").get_by_role("button", name="批准").click()
        expect(page.get_by_test_id("version-status-1")).to_have_text("已批准")

        assert problems == []

    version = TemplateVersion.objects.get(template=template)
    assert version.status == VersionStatus.APPROVED
    assert version.body == "尊敬的${customer_name}，您的账户已逾期${days_past_due}天，请尽快还款。回复TD退订"
