"""The official `openai` Python SDK drives the portal's API as a client would.

Run by scripts/test against each test portal (SWITCHBOARD_TEST_URL; SWITCHBOARD_TEST_STORE
says which store it keeps, for the one step no page can do: making a key expire). Accounts and
keys are made through the portal's own pages, as a person would.
"""

import html
import http.cookiejar
import os
import re
import secrets
import sqlite3
import unittest
import urllib.error
import urllib.parse
import urllib.request

import openai

URL = os.environ["SWITCHBOARD_TEST_URL"].rstrip("/")
STORE = os.environ.get("SWITCHBOARD_TEST_STORE", "embedded")
PASSWORD = "violet kettle marching owl"
ADMIN, ADMIN_PASSWORD = "tester", "tester-password-123"


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


class Page:
    def __init__(self, status_code, text):
        self.status_code, self.text = status_code, text


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """A browser without JavaScript: keeps its cookies, does not follow redirects."""

    def __init__(self):
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirects()
        )

    def _open(self, request):
        try:
            with self.opener.open(request, timeout=30) as answer:
                return Page(answer.status, answer.read().decode())
        except urllib.error.HTTPError as answer:
            return Page(answer.code, answer.read().decode())

    def get(self, path):
        return self._open(urllib.request.Request(URL + path))

    def post(self, path, data):
        body = urllib.parse.urlencode(data, doseq=True).encode()
        return self._open(urllib.request.Request(URL + path, data=body, method="POST"))


class Person:
    """Someone signed in to the portal's pages."""

    def __init__(self, name=None, password=PASSWORD, sign_up=True):
        self.name = name or f"sdk-{secrets.token_hex(5)}"
        self.web = Browser()
        if sign_up:
            token = csrf(self.web.get("/signup").text)
            answer = self.web.post("/signup", data={
                "csrf_token": token, "username": self.name, "email": "sdk@example.com",
                "password": password, "confirm": password,
            })
        else:
            token = csrf(self.web.get("/login").text)
            answer = self.web.post("/login", data={
                "csrf_token": token, "username": self.name, "password": password,
            })
        assert answer.status_code == 303, answer.text

    def settings(self, **fields) -> Page:
        token = csrf(self.web.get("/settings").text)
        return self.web.post("/settings", data={"csrf_token": token, **fields})

    def make_key(self, name, models=(), days=""):
        """A new key's secret (shown once) and its id (from the list's revoke form)."""
        fields = {"action": "create-key", "key_name": name, "key_days": days}
        answer = self.settings(**fields, key_model=list(models))
        assert answer.status_code == 201, answer.text
        page = html.unescape(answer.text).replace("&#x2f;", "/")
        secret = re.search(r'<code id="new-key">(sk-sb-[^<]+)</code>', page).group(1)
        row = re.search(rf"<td>{re.escape(name)}</td>.*?name=\"key\" value=\"([^\"]+)\"", page, re.S)
        return secret, row.group(1)

    def client(self, key) -> openai.OpenAI:
        # No retries: each refusal is asserted as it comes.
        return openai.OpenAI(api_key=key, base_url=f"{URL}/v1", max_retries=0, timeout=30)


def expire(owner, key_id):
    """Makes a key expired in the store (no page offers a key that has already expired)."""
    if STORE == "embedded":
        path = os.environ["SWITCHBOARD_TEST_SQLITE_PATH"]
        with sqlite3.connect(path, timeout=10) as db:
            changed = db.execute(
                "UPDATE api_keys SET expires_at = 1 WHERE owner = ? AND id = ?", (owner, key_id)
            ).rowcount
        assert changed == 1
    else:
        import boto3

        table = boto3.client(
            "dynamodb", endpoint_url=os.environ["SWITCHBOARD_TEST_DYNAMODB_URL"],
            region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test",
        )
        table.update_item(
            TableName="switchboard-e2e",
            Key={"PK": {"S": f"USER#{owner}"}, "SK": {"S": f"APIKEY#{key_id}"}},
            UpdateExpression="SET expires_at = :past",
            ExpressionAttributeValues={":past": {"N": "1"}},
            ConditionExpression="attribute_exists(PK)",
        )


class OpenAiSdk(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.person = Person()
        cls.key, _ = cls.person.make_key("sdk laptop")
        cls.api = cls.person.client(cls.key)

    def test_models_are_listed(self):
        ids = [m.id for m in self.api.models.list()]
        self.assertIn("fake-echo", ids)
        self.assertIn("offline", ids)
        self.assertEqual(self.api.models.retrieve("offline").id, "offline")

    def test_a_plain_completion(self):
        reply = self.api.chat.completions.create(
            model="fake-echo",
            messages=[
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "hello there"},
            ],
            max_tokens=200,
            temperature=0.2,
        )
        self.assertTrue(reply.id.startswith("chatcmpl-"))
        self.assertEqual(reply.choices[0].finish_reason, "stop")
        self.assertTrue(reply.choices[0].message.content.startswith("You said: hello there."))
        self.assertEqual(reply.usage.completion_tokens, 15)
        self.assertEqual(
            reply.usage.total_tokens, reply.usage.prompt_tokens + reply.usage.completion_tokens
        )

    def test_a_streamed_completion_with_usage(self):
        stream = self.api.chat.completions.create(
            model="fake-echo",
            messages=[{"role": "user", "content": "stream this"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        text, finish, usage = "", None, None
        for chunk in stream:
            if chunk.choices:
                text += chunk.choices[0].delta.content or ""
                finish = chunk.choices[0].finish_reason or finish
            if chunk.usage:
                usage = chunk.usage
        self.assertTrue(text.startswith("You said: stream this."), text)
        self.assertEqual(finish, "stop")
        self.assertIsNotNone(usage)
        self.assertEqual(usage.completion_tokens, 15)

    def test_every_kind_of_model(self):
        for model in ["fake-anthropic", "fake-bedrock", "offline"]:
            reply = self.api.chat.completions.create(
                model=model, messages=[{"role": "user", "content": "hello there"}]
            )
            self.assertTrue(reply.choices[0].message.content, model)

    def test_bad_requests(self):
        with self.assertRaises(openai.BadRequestError) as caught:
            self.api.chat.completions.create(model="fake-echo", messages=[])
        self.assertEqual(caught.exception.body["param"], "messages")
        with self.assertRaises(openai.BadRequestError) as caught:
            self.api.chat.completions.create(
                model="fake-echo", messages=[{"role": "user", "content": "hi"}],
                extra_body={"temperature": "warm"},
            )
        self.assertEqual(caught.exception.body["param"], "temperature")
        with self.assertRaises(openai.NotFoundError):
            self.api.chat.completions.create(
                model="no-such-model", messages=[{"role": "user", "content": "hi"}]
            )

    def test_a_bad_key(self):
        api = self.person.client("sk-sb-" + "A" * 43)
        with self.assertRaises(openai.AuthenticationError) as caught:
            api.models.list()
        self.assertEqual(caught.exception.code, "invalid_api_key")

    def test_a_revoked_key(self):
        secret, key_id = self.person.make_key("to revoke")
        api = self.person.client(secret)
        self.assertTrue(list(api.models.list()))
        revoked = self.person.settings(action="revoke-key", key=key_id)
        self.assertEqual(revoked.status_code, 303, revoked.text)
        with self.assertRaises(openai.AuthenticationError):
            api.models.list()

    def test_an_expired_key(self):
        secret, key_id = self.person.make_key("to expire", days="1")
        expire(self.person.name, key_id)
        with self.assertRaises(openai.AuthenticationError) as caught:
            self.person.client(secret).chat.completions.create(
                model="offline", messages=[{"role": "user", "content": "hi"}]
            )
        self.assertEqual(caught.exception.code, "expired_api_key")

    def test_a_model_not_allowed(self):
        secret, _ = self.person.make_key("offline only", models=["offline"])
        api = self.person.client(secret)
        self.assertEqual([m.id for m in api.models.list()], ["offline"])
        with self.assertRaises(openai.PermissionDeniedError) as caught:
            api.chat.completions.create(
                model="fake-echo", messages=[{"role": "user", "content": "hi"}]
            )
        self.assertEqual(caught.exception.code, "model_not_allowed")

    def test_a_cap_reached(self):
        capped = Person()
        secret, _ = capped.make_key("capped")
        admin = Person(ADMIN, ADMIN_PASSWORD, sign_up=False)
        token = csrf(admin.web.get("/admin").text)
        answer = admin.web.post("/admin", data={
            "csrf_token": token, "action": "cap", "username": capped.name, "cap": "0",
        })
        self.assertEqual(answer.status_code, 303, answer.text)
        with self.assertRaises(openai.PermissionDeniedError) as caught:
            capped.client(secret).chat.completions.create(
                model="offline", messages=[{"role": "user", "content": "hi"}]
            )
        self.assertEqual(caught.exception.code, "spend_cap_reached")

    def test_the_rate_limit(self):
        # The test portals allow 30 sends a minute; a fresh account reaches the limit within
        # two windows' worth of calls, however the minute falls.
        quick = Person()
        secret, _ = quick.make_key("quick")
        api = quick.client(secret)
        for _ in range(61):
            try:
                api.chat.completions.create(
                    model="offline", messages=[{"role": "user", "content": "hi"}]
                )
            except openai.RateLimitError as refused:
                self.assertEqual(refused.code, "rate_limit_exceeded")
                retry = int(refused.response.headers["retry-after"])
                self.assertTrue(1 <= retry <= 60, retry)
                return
        self.fail("61 calls in a row were never limited")


if __name__ == "__main__":
    unittest.main(verbosity=2)
