"""Password guessing is limited wherever a password is checked: the log-in page, the admin's
(where /terminal/ leads), the password change form and anything calling ``authenticate()``;
per client address and per account as Django reads the name; failures only; and a held person
can still reset their password by e-mail."""

import re

import pytest
from django.contrib.auth import authenticate
from django.test import override_settings

from tests.fixtures.counts import forget_this_runs_counts
from tests.fixtures.site import visitor

pytestmark = pytest.mark.django_db

RATES = {
    "login": {"address": "5/15min", "account": "3/15min"},
    "signup": {"address": "10/hour"},
    "password_reset": {"address": "10/hour", "account": "5/hour"},
}

limited = override_settings(ITEMS_RATES=RATES)


@pytest.fixture(autouse=True)
def fresh_counts():
    forget_this_runs_counts()


def log_in(address, username, password, path="/login/"):
    return visitor(address).post(path, {"username": username, "password": password})


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user(
        "leela", "leela@example.org", "leela-password-7", is_staff=True
    )


@limited
def test_log_in_is_limited_per_account_from_any_address(alice):
    answers = [log_in(f"198.51.100.{n}", "alice", "wrong") for n in range(4)]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    page = answers[-1].content.decode()
    assert "Too many failed log-in attempts for this account." in page
    assert re.search(r"Please try again in \d+ minutes?\.", page)
    assert int(answers[-1]["Retry-After"]) > 0
    # Another account from a fresh address is not held back.
    assert log_in("198.51.100.99", "bob", "x").status_code == 200


@limited
def test_log_in_is_limited_per_address_whatever_the_account():
    answers = [log_in("203.0.113.7", f"user{n}", "x") for n in range(6)]
    assert [answer.status_code for answer in answers] == [200] * 5 + [429]
    assert "Too many failed log-in attempts from your address." in answers[-1].content.decode()


@limited
def test_a_held_account_is_refused_even_the_right_password(alice):
    for n in range(3):
        log_in(f"198.51.100.{n}", "alice", "wrong")
    assert log_in("198.51.100.50", "alice", "alice-password-7").status_code == 429


@limited
@pytest.mark.parametrize(
    "spellings",
    [
        ["ａｌｉｃｅ", "𝐚𝐥𝐢𝐜𝐞", "𝒶𝓁𝒾𝒸ℯ"],  # full-width, mathematical bold and script letters
        ["ALICE", "Alice", " alice "],
    ],
    ids=["compatibility letters", "case and spaces"],
)
def test_every_spelling_of_a_name_counts_for_the_same_account(alice, spellings):
    answers = [log_in(f"198.51.100.{n}", name, "wrong") for n, name in enumerate(spellings)]
    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert log_in("198.51.100.77", "alice", "wrong").status_code == 429


def test_django_logs_a_full_width_name_in_to_the_plain_account(alice):
    # Why the limit folds compatibility letters: Django itself reads them as the plain name.
    assert log_in("198.51.100.1", "ａｌｉｃｅ", "alice-password-7").status_code == 302


@limited
def test_successful_log_ins_count_nothing(alice):
    answers = [log_in("203.0.113.7", "alice", "alice-password-7") for _ in range(12)]
    assert [answer.status_code for answer in answers] == [302] * 12
    # The failures still allowed after them are the whole allowance.
    answers = [log_in("203.0.113.7", "alice", "wrong") for _ in range(4)]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]


@limited
def test_the_admin_log_in_is_limited_and_counts_with_the_site_log_in(staff):
    # The live site's admin lived at /terminal/; its log-in is the admin's.
    moved = visitor("198.51.100.1").get("/terminal/login/")
    assert (moved.status_code, moved["Location"]) == (301, "/admin/login/")

    answers = [
        log_in("198.51.100.1", "leela", "wrong", path="/admin/login/"),
        log_in("198.51.100.2", "LEELA", "wrong", path="/admin/login/"),
        log_in("198.51.100.3", "leela", "wrong", path="/login/"),
        log_in("198.51.100.4", "leela", "leela-password-7", path="/admin/login/"),
    ]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert "Too many failed log-in attempts for this account." in answers[-1].content.decode()


@limited
def test_the_admin_log_in_is_limited_per_address():
    answers = [log_in("203.0.113.7", f"user{n}", "x", path="/admin/login/") for n in range(6)]
    assert [answer.status_code for answer in answers] == [200] * 5 + [429]


@limited
def test_wrong_old_passwords_on_the_password_change_form_are_limited(alice):
    browser = visitor("203.0.113.7")
    browser.force_login(alice)

    def change(old):
        return browser.post(
            "/settings/password/",
            {
                "old_password": old,
                "new_password1": "N3w-secret-77",
                "new_password2": "N3w-secret-77",
            },
        )

    answers = [change("wrong") for _ in range(3)]
    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert "Your old password was entered incorrectly" in answers[0].content.decode()
    held = change("alice-password-7")
    assert held.status_code == 429
    assert "Too many failed log-in attempts for this account." in held.content.decode()
    alice.refresh_from_db()
    assert alice.check_password("alice-password-7")


@limited
def test_the_right_old_password_changes_it(alice):
    browser = visitor("203.0.113.7")
    browser.force_login(alice)
    answer = browser.post(
        "/settings/password/",
        {
            "old_password": "alice-password-7",
            "new_password1": "N3w-secret-77",
            "new_password2": "N3w-secret-77",
        },
    )
    assert answer.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("N3w-secret-77")


@limited
def test_no_form_can_check_a_password_for_a_held_account(alice):
    for n in range(3):
        log_in(f"198.51.100.{n}", "alice", "wrong")
    assert authenticate(None, username="alice", password="alice-password-7") is None


@limited
def test_a_held_person_can_reset_their_password_by_email_and_log_in_at_once(alice, mailoutbox):
    for n in range(3):
        log_in(f"198.51.100.{n}", "alice", "wrong")
    held = log_in("198.51.100.9", "alice", "alice-password-7")
    assert held.status_code == 429
    assert 'href="/password_reset/"' in held.content.decode()

    browser = visitor("198.51.100.9")
    assert browser.post("/password_reset/", {"email": "alice@example.org"}).status_code == 302
    link = re.search(r"/reset/[^/\s]+/[^/\s]+/", mailoutbox[0].body).group(0)
    form = browser.get(link, follow=True)
    assert form.status_code == 200
    done = browser.post(
        form.redirect_chain[-1][0],
        {"new_password1": "N3w-secret-77", "new_password2": "N3w-secret-77"},
    )
    assert done.status_code == 302

    assert log_in("198.51.100.9", "alice", "N3w-secret-77").status_code == 302
