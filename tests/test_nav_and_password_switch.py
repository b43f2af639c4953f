"""Each item of a role's menu has an icon of its own, and every password field of the account
pages carries its show-password switch (hidden until the script shows it)."""

from __future__ import annotations

import re

import pytest

from parking.auth.models import Role


@pytest.mark.parametrize("role", [Role.RESIDENT, Role.ATTENDANT, Role.MANAGER, Role.ADMIN])
def test_every_menu_item_of_a_role_has_its_own_icon(client, factory, role):
    garage = factory.garage()
    user = factory.resident(garage)[0] if role == Role.RESIDENT else factory.user(role, garage)
    factory.browser(client, user)
    page = client.get("/account").get_data(as_text=True)
    menu = re.search(r'<nav class="main-nav".*?</nav>', page, re.S).group(0)
    icons = re.findall(r'<span class="icon" aria-hidden="true">(.*?)</span>', menu)
    assert len(icons) >= 3 and len(set(icons)) == len(icons), icons


@pytest.mark.parametrize("path", ["/login", "/register", "/reset"])
def test_every_password_field_has_its_switch(client, path):
    page = client.get(path).get_data(as_text=True)
    fields = re.findall(r'<input[^>]*type="password"[^>]*>', page)
    switches = re.findall(
        r'<button type="button" class="btn btn-secondary show-password" aria-controls="([^"]+)" hidden', page
    )
    assert fields and len(switches) == len(fields)
    assert {re.search(r'id="([^"]+)"', f).group(1) for f in fields} == set(switches)
