"""`/ticket setup`'s client companies: listed with Edit / Remove, added and edited one at a
time in a modal with a channel picker, removed without losing history; saving re-matches
people already known (by email domain and by Slack Connect workspace)."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from bot.ids import Action, Block
from models import ClientCompany, Member, Organization
from tests.e2e.conftest import World


def _admin(world: World) -> str:
    return world.sim.add_user(world.team, name="boss", real_name="Bea Boss", is_admin=True)["id"]


def open_setup(world: World, admin: str) -> dict[str, Any]:
    world.driver.slash_command(world.team, admin, text="setup")
    return world.sim.open_views(admin)[-1]


def top_view(world: World, admin: str) -> dict[str, Any]:
    return world.sim.open_views(admin)[-1]


def listed(view: dict[str, Any]) -> list[str]:
    """The companies' lines of the setup modal."""
    return [
        b["text"]["text"]
        for b in view["blocks"]
        if b["type"] == "section" and b.get("block_id", "").startswith(f"{Block.COMPANY}:")
    ]


def add_company(world: World, admin: str, setup: dict[str, Any], **values: Any) -> Any:
    world.driver.block_action(world.team, admin, Action.COMPANY_ADD, view_id=setup["id"])
    modal = top_view(world, admin)
    assert modal["title"]["text"] == "Add client company"
    response = world.driver.submit_view(world.team, admin, modal["id"], values)
    world.deliver()
    return response


def company_menu(world: World, admin: str, setup: dict[str, Any], choice: str) -> dict[str, Any]:
    """Pick Edit or Remove in the menu of the setup modal's first company."""
    block = next(b for b in setup["blocks"] if b.get("block_id", "").startswith("company:"))
    company_id = block["block_id"].split(":")[1]
    world.driver.block_action(
        world.team,
        admin,
        Action.COMPANY_MENU,
        block_id=block["block_id"],
        selected_option_value=f"{choice}:{company_id}",
        view_id=setup["id"],
    )
    return top_view(world, admin)


def companies(world: World) -> dict[str, ClientCompany]:
    with world.db.session() as session:
        return {c.name: c for c in session.exec(select(ClientCompany)).all()}


def channel_companies(world: World) -> dict[str, int]:
    with world.db.session() as session:
        org = session.exec(select(Organization)).one()
        return dict(org.settings.get("channel_companies") or {})


def test_add_a_company_with_a_channel_picker_and_people_already_known_match(world: World):
    world.file_ticket(world.alice, "Monitor flickers")  # alice@client.com, no company yet
    world.deliver()
    boss = _admin(world)
    setup = open_setup(world, boss)
    assert listed(setup) == []
    buttons = [
        e["text"]["text"] for b in setup["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert "Add client company" in buttons
    # The admin typed categories before adding a company: what they typed stays.
    world.driver.block_action(world.team, boss, Action.COMPANY_ADD, view_id=setup["id"])
    modal = top_view(world, boss)
    labels = [b["label"]["text"] for b in modal["blocks"] if "label" in b]
    assert labels == ["Name", "Email domains", "Slack Connect workspace", "Request channels"]
    picker = next(b for b in modal["blocks"] if b["block_id"] == Block.COMPANY_CHANNELS)
    assert picker["element"]["type"] == "multi_conversations_select"
    response = world.driver.submit_view(
        world.team,
        boss,
        modal["id"],
        {
            Block.COMPANY_NAME: "Client Inc",
            Block.COMPANY_DOMAINS: "Client.com, @client.co.uk",
            Block.COMPANY_CHANNELS: [world.general],
        },
    )
    assert response.status == 200 and not response.text, response.text
    world.deliver()
    company = companies(world)["Client Inc"]
    assert company.email_domains == ["client.com", "client.co.uk"]
    assert channel_companies(world) == {world.general: company.id}
    # Back on the setup modal, which lists the company with its Edit / Remove menu.
    setup = top_view(world, boss)
    assert setup["title"]["text"] == "Ticketbot setup"
    assert listed(setup) == [f"*Client Inc* · client.com, client.co.uk · <#{world.general}>"]
    menu = next(b for b in setup["blocks"] if b.get("block_id") == f"company:{company.id}")
    assert [o["text"]["text"] for o in menu["accessory"]["options"]] == ["Edit", "Remove"]
    # Alice, known before the company existed, belongs to it now, and so does her ticket.
    assert world.member(world.alice).client_company_id == company.id
    assert world.tickets()[0].client_company_id == company.id
    assert "*Client*\nClient Inc" in [f["text"] for f in world.cards()[0]["blocks"][1]["fields"]]
    (saved,) = world.dm(boss)
    assert saved["text"] == (
        ":white_check_mark: Client company *Client Inc* added. Tickets come from email from "
        f"client.com, client.co.uk; requests in <#{world.general}>. 1 existing ticket now "
        "belongs to it."
    )
    assert "<@" not in saved["text"]


def test_the_setup_modal_keeps_what_was_typed_while_a_company_is_added(world: World):
    boss = _admin(world)
    setup = open_setup(world, boss)
    world.driver.block_action(world.team, boss, Action.COMPANY_ADD, view_id=setup["id"])
    # (Slack keeps the values typed in an input whose ids stay the same across an update.)
    world.sim.workspace.set_view_state(
        setup["id"], Block.CATEGORIES, "value", {"type": "plain_text_input", "value": "VPN"}
    )
    world.driver.submit_view(
        world.team, boss, top_view(world, boss)["id"], {Block.COMPANY_NAME: "Globex"}
    )
    setup = top_view(world, boss)
    assert listed(setup) == ["*Globex* · _matched by hand on the card_"]
    response = world.driver.submit_view(
        world.team, boss, setup["id"], {Block.STAFF_CHANNEL: world.staff_channel}
    )
    assert response.status == 200 and not response.text, response.text
    with world.db.session() as session:
        assert session.exec(select(Organization)).one().categories == ["VPN"]


def test_company_field_errors(world: World):
    boss = _admin(world)
    setup = open_setup(world, boss)
    add_company(
        world,
        boss,
        setup,
        **{
            Block.COMPANY_NAME: "Globex",
            Block.COMPANY_DOMAINS: "globex.com",
            Block.COMPANY_CHANNELS: [world.general],
        },
    )
    setup = top_view(world, boss)
    world.driver.block_action(world.team, boss, Action.COMPANY_ADD, view_id=setup["id"])
    modal = top_view(world, boss)

    def errors(**values: Any) -> dict[str, str]:
        fields = [Block.COMPANY_DOMAINS, Block.COMPANY_TEAM, Block.COMPANY_CHANNELS]
        entered = {**{f.value: None for f in fields}, **values}  # the others left empty
        response = world.driver.submit_view(world.team, boss, modal["id"], entered)
        assert response.json["response_action"] == "errors"
        return dict(response.json["errors"])

    assert errors(**{Block.COMPANY_NAME: "globex"}) == {
        Block.COMPANY_NAME: "There is already a client company named Globex."
    }
    assert errors(**{Block.COMPANY_NAME: "Initech", Block.COMPANY_DOMAINS: "Globex, Inc"}) == {
        Block.COMPANY_DOMAINS: "globex is not an email domain. Write domains like acme.com, "
        "separated by commas."
    }
    assert errors(**{Block.COMPANY_NAME: "Initech", Block.COMPANY_DOMAINS: "globex.com"}) == {
        Block.COMPANY_DOMAINS: "globex.com already belongs to Globex."
    }
    assert errors(**{Block.COMPANY_NAME: "Initech", Block.COMPANY_TEAM: "acme"}) == {
        Block.COMPANY_TEAM: "A Slack Connect workspace id starts with T, like T0123ABCD."
    }
    assert errors(**{Block.COMPANY_NAME: "Initech", Block.COMPANY_CHANNELS: [world.general]}) == {
        Block.COMPANY_CHANNELS: "A channel you picked is already a request channel of Globex."
    }
    assert set(companies(world)) == {"Globex"}  # nothing half-written
    assert len(world.dm(boss)) == 1  # only Globex's confirmation


def test_edit_a_company(world: World):
    boss = _admin(world)
    setup = open_setup(world, boss)
    add_company(world, boss, setup, **{Block.COMPANY_NAME: "Globex"})
    modal = company_menu(world, boss, top_view(world, boss), "edit")
    assert modal["title"]["text"] == "Edit client company"
    name = next(b for b in modal["blocks"] if b["block_id"] == Block.COMPANY_NAME)
    assert name["element"]["initial_value"] == "Globex"
    response = world.driver.submit_view(
        world.team,
        boss,
        modal["id"],
        {Block.COMPANY_NAME: "Globex Corp", Block.COMPANY_DOMAINS: "client.com"},
    )
    assert response.status == 200 and not response.text, response.text
    world.deliver()
    assert set(companies(world)) == {"Globex Corp"}
    assert listed(top_view(world, boss)) == ["*Globex Corp* · client.com"]
    assert world.dm(boss)[-1]["text"] == (
        ":white_check_mark: Client company *Globex Corp* saved. Tickets come from email from "
        "client.com."
    )


def test_removing_a_company_unlinks_people_and_channels_and_keeps_history(world: World):
    boss = _admin(world)
    setup = open_setup(world, boss)
    add_company(
        world,
        boss,
        setup,
        **{
            Block.COMPANY_NAME: "Client Inc",
            Block.COMPANY_DOMAINS: "client.com",
            Block.COMPANY_CHANNELS: [world.general],
        },
    )
    world.file_ticket(world.alice, "Monitor flickers")
    world.deliver()
    company_id = companies(world)["Client Inc"].id
    assert world.tickets()[0].client_company_id == company_id
    modal = company_menu(world, boss, top_view(world, boss), "remove")
    assert modal["title"]["text"] == "Remove client company"
    assert "Its tickets, time entries and reports keep its name" in str(modal["blocks"])
    response = world.driver.submit_view(world.team, boss, modal["id"], {})
    assert response.status == 200 and not response.text, response.text
    world.deliver()
    assert listed(top_view(world, boss)) == []
    assert world.member(world.alice).client_company_id is None
    assert channel_companies(world) == {}
    # History stays readable: the ticket keeps its company, and its card still names it.
    assert world.tickets()[0].client_company_id == company_id
    assert companies(world)["Client Inc"].removed_at is not None
    assert world.dm(boss)[-1]["text"] == (
        ":white_check_mark: Removed client company *Client Inc*. 1 person and its request "
        "channels are no longer linked to it; its tickets and reports keep its name."
    )
    # New tickets are no longer matched to it, and the card's company menu no longer offers it.
    world.file_ticket(world.alice, "Mouse broken")
    world.deliver()
    second = next(t for t in world.tickets() if t.ticket_number == 2)
    assert second.client_company_id is None
    card = next(c for c in world.cards() if c["text"].startswith("Ticket #2:"))
    assert "Client Inc" not in str(card["blocks"])
    # Adding the name again brings it back, history and all.
    add_company(
        world,
        boss,
        top_view(world, boss),
        **{Block.COMPANY_NAME: "client inc", Block.COMPANY_DOMAINS: "client.com"},
    )
    assert companies(world)["client inc"].id == company_id
    assert world.member(world.alice).client_company_id == company_id


def test_saving_a_company_matches_slack_connect_people_by_their_workspace(world: World):
    world.sim.add_team("T0PARTNER", name="Partner Ltd", domain="partner")
    guest = world.sim.add_user(
        world.team,
        name="pat",
        real_name="Pat Partner",
        email="pat@partner-mail.com",
        home_team_id="T0PARTNER",
    )["id"]
    boss = _admin(world)
    world.file_ticket(guest, "VPN down")  # Partner Ltd is made on first sight
    world.deliver()
    setup = open_setup(world, boss)
    assert listed(setup) == ["*Partner Ltd* · Slack Connect T0PARTNER"]
    world.driver.submit_view(world.team, boss, company_menu(world, boss, setup, "remove")["id"], {})
    world.file_ticket(guest, "VPN still down")  # removed: not made again behind the admin
    world.deliver()
    with world.db.session() as session:
        pat = session.exec(select(Member).where(Member.slack_user_id == guest)).one()
    assert (pat.client_company_id, pat.slack_team_id) == (None, "T0PARTNER")
    unmatched = next(t for t in world.tickets() if t.ticket_number == 2)
    assert unmatched.client_company_id is None
    add_company(
        world,
        boss,
        top_view(world, boss),
        **{Block.COMPANY_NAME: "Partner", Block.COMPANY_TEAM: "t0partner"},
    )
    partner = companies(world)["Partner"]
    assert partner.slack_team_id == "T0PARTNER"
    assert world.member(guest).client_company_id == partner.id
    matched = next(t for t in world.tickets() if t.ticket_number == 2)
    assert matched.client_company_id == partner.id
    card = next(c for c in world.cards() if c["text"].startswith("Ticket #2:"))
    assert "*Client*\nPartner" in [f["text"] for f in card["blocks"][1]["fields"]]
