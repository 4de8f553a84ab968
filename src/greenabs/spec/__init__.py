"""The edge: deal files and tapes in, validated frozen models out."""

from greenabs.spec.deal import DealSpec
from greenabs.spec.io import deal_schema, load_deal, load_tape, parse_deal

__all__ = ["DealSpec", "deal_schema", "load_deal", "load_tape", "parse_deal"]
