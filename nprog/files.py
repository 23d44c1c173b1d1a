"""Opening a file that must be a regular file: the one place that does it, for tables and checkpoints.

A path from a user or a question file may name a FIFO (an open would block), a device (``/dev/zero``:
endless), a directory or a symbolic link. The file is opened non-blocking and checked through its
descriptor, so what is read is what was checked.
"""

from __future__ import annotations

import os
import stat


class NotRegularFileError(OSError):
    """The path names a pipe, a device or a socket: something that may block or never end."""


def open_regular(path: str | os.PathLike, *, follow_symlinks: bool = True) -> tuple[int, os.stat_result]:
    """(a blocking descriptor, its stat) of ``path`` once it is known to be a regular file.

    Raises IsADirectoryError for a directory, NotRegularFileError for anything else that is not a regular
    file, and the open's own OSError (FileNotFoundError; ELOOP for a link when ``follow_symlinks`` is
    False) or ValueError (an embedded NUL byte). The caller closes the descriptor.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(f"{path}: is a directory")
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFileError(f"{path}: not a regular file")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd, info
