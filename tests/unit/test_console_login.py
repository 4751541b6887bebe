"""Sign-in limits that parallel guessing cannot outrun: every attempt is counted before the password is checked,
per username and per address, and once either is used up no password hash is computed at all."""
import asyncio
from collections import Counter

from argon2 import PasswordHasher

from bot.console.sessions import login_keys
from tests.unit.console_app import served

PER_USER = 10  # the default
FEW = 4  # tries in the tests that set a lower limit (each try is a hash of ~0.1-0.2 s)
ATTACKER, BYSTANDER = "127.0.0.2", "127.0.0.3"  # loopback addresses of their own: 127.0.0.1's counts are left alone


class CountingHasher(PasswordHasher):
    """The console's argon2 hasher, counting the hashes it computes (each costs ~50 ms of CPU)."""

    verified = 0

    def verify(self, hash, password):  # noqa: A002 (argon2's own parameter name)
        CountingHasher.verified += 1
        return super().verify(hash, password)


async def forget_attempts(console, usernames, addresses):
    keys = [key for u in usernames for a in addresses for key in login_keys(u, a)]
    await console.ctx.sessions.redis.delete(*keys)


def counting_hashes(console) -> None:
    CountingHasher.verified = 0
    console.ctx.users.hasher = CountingHasher()


def test_thirty_parallel_wrong_passwords_are_locked_out_after_the_limit_and_cost_no_more_hashes(tmp_path, redis_url):
    async def attack():
        async with served(tmp_path, redis_url) as console:
            _, victim = await console.user("agent")
            counting_hashes(console)
            attacker = console.client(ATTACKER)
            try:
                answers = await asyncio.gather(*[attacker.login(victim["username"], f"guess-{i:04d}-x") for i in range(30)])
                codes = Counter(status for status, _ in answers)
                assert codes == {401: PER_USER, 429: 30 - PER_USER}, codes
                assert CountingHasher.verified == PER_USER
                status, locked = await attacker.login(victim["username"], f"{victim['username']}-password")
                assert status == 429 and "minute" in locked["error"]  # even the right password waits
                assert CountingHasher.verified == PER_USER
            finally:
                await forget_attempts(console, [victim["username"]], [ATTACKER])
    asyncio.run(attack())


def test_one_address_guessing_many_usernames_is_stopped_and_others_still_sign_in(tmp_path, redis_url):
    async def spray():
        async with served(tmp_path, redis_url, console_login_tries_per_address=FEW) as console:
            _, me = await console.user("agent")
            counting_hashes(console)
            attacker = console.client(ATTACKER)
            names = [f"nobody{i:03d}" for i in range(FEW + 10)]
            try:
                answers = await asyncio.gather(*[attacker.login(name, "not-the-password") for name in names])
                codes = Counter(status for status, _ in answers)
                assert codes == {401: FEW, 429: 10}, codes
                assert CountingHasher.verified == FEW
                bystander = console.client(BYSTANDER)
                status, _ = await bystander.login(me["username"], f"{me['username']}-password")
                assert status == 200  # another address is not locked out
            finally:
                await forget_attempts(console, names + [me["username"]], [ATTACKER, BYSTANDER])
    asyncio.run(spray())


def test_a_right_password_after_a_few_typos_signs_in_and_the_count_starts_again(tmp_path, redis_url):
    async def typos():
        async with served(tmp_path, redis_url, console_login_tries=FEW) as console:
            _, me = await console.user("agent")
            person = console.client(BYSTANDER)
            try:
                for _ in range(2):
                    for _ in range(FEW - 1):
                        assert (await person.login(me["username"], "a typo, again"))[0] == 401
                    assert (await person.login(me["username"], f"{me['username']}-password"))[0] == 200
            finally:
                await forget_attempts(console, [me["username"]], [BYSTANDER])
    asyncio.run(typos())
