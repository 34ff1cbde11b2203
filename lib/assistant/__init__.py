"""Plain-language questions about the fleet (docs/assistant.md): the parser; the answers
are lib.app.assistant."""

from .parse import INTENTS, MAX_QUESTION, Question, parse_question

__all__ = ["INTENTS", "MAX_QUESTION", "Question", "parse_question"]
