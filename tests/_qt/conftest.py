"""Qt tests keep Qt's settings (the dialogs' last folder) in a temporary folder, never the user's."""

from __future__ import annotations

import pytest
from qtpy.QtCore import QSettings


@pytest.fixture(autouse=True)
def _settings_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> None:
    QSettings.setPath(
        QSettings.Format.NativeFormat,
        QSettings.Scope.UserScope,
        str(tmp_path_factory.mktemp("qsettings")),
    )
