"""The affected operator's HSS: subscriber store, S6a procedures (TS 29.272), Diameter service."""

from __future__ import annotations
