"""A relying party's mirror: a local copy of its feed that decides at memory speed, with the
platform's own decision function, and reports every check it answers.

    from xinyong.mirror import Mirror
    mirror = Mirror("/var/lib/xinyong-mirror")       # kept current by `xinyong mirror sync`
    answer = mirror.check("110105199001011234", "buy_air_ticket", "ticket sale, CA1234")
    answers = mirror.check_many(passengers, "buy_air_ticket", "flight CA1234")
"""

from xinyong.mirror.check import Answer, Answers, Mirror, NotSynced, Refusal

__all__ = ["Answer", "Answers", "Mirror", "NotSynced", "Refusal"]
