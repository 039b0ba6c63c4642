"""A client of the inbox's API as an integrator writes one: a script of its own that knows
only httpx, an API key and the OpenAPI document. The end-to-end test runs it as a process
outside the project. It starts a conversation with a template, follows the message to
`read`, reads the customer's reply and checks that nothing it sends gets a 5xx.

Usage: python api_client_script.py <base url> <key> <to>; prints progress lines, and the
summary as JSON on the last line."""

import json
import sys
import time

import httpx

DEADLINE_SECONDS = 60


def operations(document):
    found = {}
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            found[operation["operationId"]] = (method.upper(), path)
    return found


def call(client, ops, name, body=None, **path_params):
    method, path = ops[name]
    for key, value in path_params.items():
        path = path.replace("{" + key + "}", str(value))
    response = client.request(method, path, json=body)
    if response.status_code >= 500:
        raise SystemExit(f"{name} answered {response.status_code}: {response.text[:300]}")
    return response


def wait_for(what, check):
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)  # polling an HTTP API, as a client would
    raise SystemExit(f"timed out waiting for {what}")


def main(base_url, key, to):
    client = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30)
    document = httpx.get(f"{base_url}/api/v1/openapi.json", timeout=30).json()
    ops = operations(document)
    template = {"name": "order_shipped", "language": {"code": "en_US"},
                "components": [{"type": "body", "parameters": [{"type": "text", "text": "Ada"}]}]}  # fmt: skip
    sent = call(client, ops, "send_message", {"to": to, "type": "template", "template": template},
                ).json()  # fmt: skip
    print("SENT", sent["id"], sent["status"], flush=True)
    statuses = []

    def read():
        message = call(client, ops, "read_message", message_id=sent["id"]).json()
        statuses[:] = [status["status"] for status in message["statuses"]]
        return message["status"] == "read" and message

    wait_for("the message to be read", read)
    print("READ", ",".join(statuses), flush=True)

    def reply():
        page = call(client, ops, "conversation_messages", conversation_id=sent["conversation_id"]).json()
        inbound = [message for message in page["data"] if message["direction"] == "in"]
        return inbound and inbound[0]

    customer = wait_for("the customer's reply", reply)
    print("REPLY", customer["text"], flush=True)
    answered = call(client, ops, "send_message",
                    {"conversation_id": sent["conversation_id"], "text": {"body": "Glad to help!"}}).json()  # fmt: skip
    hostile = [b"{", b"null", b'{"to": 1}', b'{"type": "nope"}', b"\xff" * 10, b'{"text": {"body": "\\u0000"}}']
    worst = max(
        client.post(path, content=raw, headers={"Content-Type": "application/json"}).status_code
        for raw in hostile
        for method, path in ops.values()
        if method == "POST" and "{" not in path
    )
    summary = {"message": sent["id"], "statuses": statuses, "reply": customer["text"], "answer": answered["status"],
               "worst_status_for_hostile_input": worst}  # fmt: skip
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
