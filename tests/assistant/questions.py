"""The question table: each question with the intent and entities it must be read as.
Half are Korean. Used by tests/assistant/test_questions.py and bench/bench_assistant.py."""

from __future__ import annotations

# (question, intent, server id(s) or None, metric or None)
QUESTIONS: list[tuple[str, str, str | tuple[str, ...] | None, str | None]] = [
    # server_health
    ("is db-02 ok?", "server_health", "db-02", None),
    ("How is web-01 doing?", "server_health", "web-01", None),
    ("status of API-04", "server_health", "api-04", None),
    ("is db 2 ok", "server_health", "db-02", None),
    ("any problem with cache-01?", "server_health", "cache-01", None),
    ("worker-02 health", "server_health", "worker-02", None),
    ("db-02 상태 어때?", "server_health", "db-02", None),
    ("web-03 괜찮아?", "server_health", "web-03", None),
    ("디비 2 상태 알려줘", "server_health", "db-02", None),
    ("api-05 서버에 문제가 있나요?", "server_health", "api-05", None),
    ("캐시 1 건강 점수는?", "server_health", "cache-01", None),
    ("worker-01 정상이야?", "server_health", "worker-01", None),
    # server_why
    ("why is api-03 slow?", "server_why", "api-03", "response_time"),
    ("why is db-01 failing?", "server_why", "db-01", None),
    ("what's wrong with web-02?", "server_why", "web-02", None),
    ("api-03 왜 느려?", "server_why", "api-03", "response_time"),
    ("db-03 장애 원인이 뭐야?", "server_why", "db-03", None),
    ("web-04 응답이 느린 이유는?", "server_why", "web-04", "response_time"),
    ("api-01 is slow", "server_why", "api-01", "response_time"),
    ("api-06이 왜 이렇게 느려", "server_why", "api-06", "response_time"),
    # what_happened
    ("what happened yesterday between 14:00 and 16:00?", "what_happened", None, None),
    ("What happened in the last 3 hours?", "what_happened", None, None),
    ("any incidents today?", "what_happened", None, None),
    ("what happened yesterday at 10pm?", "what_happened", None, None),
    ("어제 오후 2시에 무슨 일이 있었어?", "what_happened", None, None),
    ("오늘 장애 있었어?", "what_happened", None, None),
    ("지난 6시간 동안 무슨 일이 있었나요?", "what_happened", None, None),
    ("어제 오후 10시부터 11시까지 사건 알려줘", "what_happened", None, None),
    # at_risk
    ("which servers are at risk?", "at_risk", None, None),
    ("is any disk going to run out soon?", "at_risk", None, "disk"),
    ("어떤 서버가 위험해?", "at_risk", None, None),
    ("곧 메모리가 부족해질 서버 예측해줘", "at_risk", None, "memory"),
    # fleet_summary
    ("fleet summary", "fleet_summary", None, None),
    ("how are all servers?", "fleet_summary", None, None),
    ("전체 현황 알려줘", "fleet_summary", None, None),
    ("모든 서버 상태 요약", "fleet_summary", None, None),
    # top_consumers
    ("top memory consumers", "top_consumers", None, "memory"),
    ("which servers use the most CPU?", "top_consumers", None, "cpu"),
    ("highest latency servers", "top_consumers", None, "response_time"),
    ("메모리를 가장 많이 쓰는 서버는?", "top_consumers", None, "memory"),
    ("CPU 사용량 상위 서버", "top_consumers", None, "cpu"),
    ("디스크 제일 많이 쓰는 서버", "top_consumers", None, "disk"),
    # unknown server, help
    ("DB-EU-002 서버에 문제가 있나요?", "unknown_server", None, None),
    ("is web-99 ok?", "unknown_server", None, None),
    ("hello", "help", None, None),
    ("안녕하세요", "help", None, None),
]
