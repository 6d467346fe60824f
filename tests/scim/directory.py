"""An independent SCIM client (scim2-client, validating every answer with scim2-models) playing
a directory against Steward: discovery, then a user's whole life. Driven by
tests/tests/e2e/directory.rs; prints one JSON line of what it saw.

    directory.py <base url of /scim/v2> <bearer token> <address>
"""

import json
import sys

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_models import PatchOp, PatchOperation, SearchRequest


def main():
    base_url, token, address = sys.argv[1:4]
    client = Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"})
    scim = SyncSCIMClient(client)
    scim.discover()
    User = scim.get_resource_model("User")
    Group = scim.get_resource_model("Group")
    seen = {}

    created = scim.create(User(user_name=address, display_name="Dee Directory"))
    seen["created"] = {"id": created.id, "user_name": created.user_name, "active": created.active}

    found = scim.query(User, query_parameters=SearchRequest(filter=f'userName eq "{address.upper()}"'))
    seen["found"] = [user.id for user in found.resources or []]

    fetched = scim.query(User, created.id)
    seen["fetched"] = fetched.display_name

    patch = PatchOp[User](
        operations=[PatchOperation[User](op=PatchOperation.Op.replace_, path="active", value=False)]
    )
    patched = scim.modify(User, created.id, patch)
    seen["patched_active"] = None if patched is None else patched.active

    fetched.display_name = "Dee D."
    fetched.active = True
    replaced = scim.replace(fetched)
    seen["replaced"] = {"display_name": replaced.display_name, "active": replaced.active}

    seen["groups"] = sorted(group.display_name for group in scim.query(Group).resources or [])

    scim.delete(User, created.id)
    seen["after_delete"] = [
        user.id
        for user in scim.query(User, query_parameters=SearchRequest(filter=f'userName eq "{address}"')).resources
        or []
    ]
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
