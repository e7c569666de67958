"""Packages whose names are imported on first use answer as if they had imported them at once."""

import pytest

import xinyong.ledger
import xinyong.policy
from xinyong.ledger.verification import verify
from xinyong.policy.loader import shipped_pack_names


def test_a_name_is_the_module_s_own_and_is_kept() -> None:
    assert xinyong.ledger.verify is verify
    assert xinyong.policy.shipped_pack_names is shipped_pack_names
    assert vars(xinyong.ledger)["verify"] is verify


@pytest.mark.parametrize("package", [xinyong.ledger, xinyong.policy])
def test_an_unknown_name_is_an_attribute_error_naming_the_package(package: object) -> None:
    with pytest.raises(AttributeError, match=rf"{package.__name__}.*no_such_name"):  # type: ignore[attr-defined]
        package.no_such_name  # type: ignore[attr-defined]  # noqa: B018
