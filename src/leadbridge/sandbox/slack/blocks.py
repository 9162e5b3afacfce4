"""Slack's Block Kit limits, checked the way Slack checks a webhook payload.

Only what an incoming webhook refuses is checked: block count, known block
types, required parts and text lengths. Slack answers every violation with the
same plain-text code, `invalid_blocks`.
"""

from __future__ import annotations

from typing import Any

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_FIELDS = 10
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_BLOCK_ID = 255
MAX_MESSAGE_TEXT = 40_000

BLOCK_TYPES = {
    "section",
    "header",
    "context",
    "divider",
    "actions",
    "image",
    "rich_text",
    "input",
    "file",
    "video",
}
TEXT_TYPES = {"plain_text", "mrkdwn"}


class InvalidBlocks(ValueError):
    """The payload's blocks break a Block Kit rule; the message says which one."""


def check_blocks(blocks: Any) -> None:
    if not isinstance(blocks, list):
        raise InvalidBlocks("blocks must be an array")
    if len(blocks) > MAX_BLOCKS:
        raise InvalidBlocks(f"no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]")
    for index, block in enumerate(blocks):
        _check_block(block, f"/blocks/{index}")


def _check_block(block: Any, where: str) -> None:
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        raise InvalidBlocks(f"unknown or missing block type [json-pointer:{where}/type]")
    if block["type"] not in BLOCK_TYPES:
        raise InvalidBlocks(f"unknown or missing block type [json-pointer:{where}/type]")
    block_id = block.get("block_id")
    if block_id is not None and (not isinstance(block_id, str) or len(block_id) > MAX_BLOCK_ID):
        raise InvalidBlocks(f"must be less than {MAX_BLOCK_ID} characters [json-pointer:{where}]")
    kind = block["type"]
    if kind == "section":
        _check_section(block, where)
    elif kind == "header":
        _check_text(block.get("text"), f"{where}/text", MAX_HEADER_TEXT, plain_only=True)
    elif kind == "context":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= MAX_CONTEXT_ELEMENTS:
            raise InvalidBlocks(f"context needs 1 to 10 elements [json-pointer:{where}/elements]")
        for index, element in enumerate(elements):
            if not isinstance(element, dict) or not isinstance(element.get("type"), str):
                raise InvalidBlocks(f"must be an element object [json-pointer:{where}/elements]")
            if element["type"] in TEXT_TYPES:
                _check_text(element, f"{where}/elements/{index}", MAX_SECTION_TEXT)
    elif kind == "actions":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 25:
            raise InvalidBlocks(f"actions need 1 to 25 elements [json-pointer:{where}/elements]")
    elif kind == "image" and not (block.get("image_url") or block.get("slack_file")):
        raise InvalidBlocks(f"missing required field: image_url [json-pointer:{where}]")


def _check_section(block: dict[str, Any], where: str) -> None:
    text, section_fields = block.get("text"), block.get("fields")
    if text is None and section_fields is None:
        raise InvalidBlocks(f"must provide text or fields [json-pointer:{where}]")
    if text is not None:
        _check_text(text, f"{where}/text", MAX_SECTION_TEXT)
    if section_fields is not None:
        if not isinstance(section_fields, list) or len(section_fields) > MAX_FIELDS:
            raise InvalidBlocks(f"no more than {MAX_FIELDS} fields [json-pointer:{where}/fields]")
        for index, field in enumerate(section_fields):
            _check_text(field, f"{where}/fields/{index}", MAX_FIELD_TEXT)


def _check_text(text: Any, where: str, limit: int, *, plain_only: bool = False) -> None:
    allowed = {"plain_text"} if plain_only else TEXT_TYPES
    if not isinstance(text, dict) or not isinstance(text.get("type"), str):
        raise InvalidBlocks(f"must be a text object [json-pointer:{where}]")
    if text["type"] not in allowed:
        raise InvalidBlocks(
            f"must be a text object of type {sorted(allowed)} [json-pointer:{where}]"
        )
    value = text.get("text")
    if not isinstance(value, str) or not value:
        raise InvalidBlocks(f"must be a non-empty string [json-pointer:{where}/text]")
    if len(value) > limit:
        raise InvalidBlocks(f"must be less than {limit + 1} characters [json-pointer:{where}/text]")
