"""What a run did, said in a report the command prints."""

from dataclasses import dataclass, field


@dataclass
class Report:
    dry_run: bool = False
    rows: dict[str, tuple[int, int]] = field(default_factory=dict)  # table → (source, target)
    written: dict[str, int] = field(default_factory=dict)  # table → rows inserted or changed
    files_copied: int = 0
    bytes_copied: int = 0
    files_verified_here: int = 0
    files_pending: int = 0
    file_seconds: float = 0.0  # copying and verifying, waiting for the worker included
    file_cpu_seconds: float = 0.0  # this process's CPU meanwhile (every thread)
    failures: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    merges: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)
    count_changes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    step_seconds: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    def text(self) -> str:
        heading = "Dry run: what an import would do" if self.dry_run else "Import finished"
        steps = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.step_seconds.items())
        lines = [
            f"{heading} in {self.seconds:.1f} s ({steps}).",
            "",
            f"{'table':<12} {'source':>11} {'target':>11} {'written':>11}",
        ]
        for table, (in_source, in_target) in self.rows.items():
            written = self.written.get(table, 0)
            lines.append(f"{table:<12} {in_source:>11,} {in_target:>11,} {written:>11,}")
        lines += [
            "",
            f"Files copied: {self.files_copied:,} ({self.bytes_copied:,} bytes); "
            f"verified by this run: {self.files_verified_here:,}; "
            f"still being verified by the worker: {self.files_pending:,}; "
            f"failures: {len(self.failures):,}.",
        ]
        for title, entries in (
            ("Failures", self.failures),
            ("Checked, not trusted (fixed or left out)", self.checked),
            ("Merged", self.merges),
            ("Changed on S7 since the last run, kept", self.kept),
            ("Changed on both sides, the live site's taken", self.conflicts),
            ("Left out", self.left_out),
            ("Download counts recomputed from the rows (live → S7)", self.count_changes),
            ("Notes", self.notes),
        ):
            if entries:
                lines += ["", f"{title}:", *(f"  - {entry}" for entry in entries)]
        return "\n".join(lines)
