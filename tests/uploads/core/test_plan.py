import pytest

from uploads.core.plan import (
    MAX_PART_SIZE,
    MAX_PARTS,
    MIN_PART_SIZE,
    GiB,
    MiB,
    PlanError,
    link_part_size,
    plan_parts,
)


def lengths(plan):
    return [plan.part_length(n) for n in range(1, plan.part_count + 1)]


def test_it_refuses_the_empty_file():
    with pytest.raises(PlanError, match="empty"):
        plan_parts(0)


def test_it_refuses_negative_sizes():
    with pytest.raises(PlanError):
        plan_parts(-1)


def test_a_one_byte_file_is_one_part():
    plan = plan_parts(1)
    assert (plan.part_count, lengths(plan)) == (1, [1])


def test_exactly_five_mib_is_one_part():
    plan = plan_parts(5 * MiB, preferred_part_size=5 * MiB)
    assert lengths(plan) == [5 * MiB]


def test_one_byte_over_five_mib_makes_a_tiny_last_part():
    plan = plan_parts(5 * MiB + 1, preferred_part_size=5 * MiB)
    assert lengths(plan) == [5 * MiB, 1]


def test_parts_are_never_smaller_than_s3_allows():
    plan = plan_parts(100 * MiB, preferred_part_size=1)
    assert plan.part_size == MIN_PART_SIZE
    assert all(length >= MIN_PART_SIZE for length in lengths(plan)[:-1])


def test_exactly_ten_thousand_parts_fit():
    plan = plan_parts(MAX_PARTS * 5 * MiB, preferred_part_size=5 * MiB)
    assert (plan.part_count, plan.part_size) == (MAX_PARTS, 5 * MiB)


def test_one_byte_more_grows_the_parts_instead_of_adding_a_part():
    plan = plan_parts(MAX_PARTS * 5 * MiB + 1, preferred_part_size=5 * MiB)
    assert plan.part_count <= MAX_PARTS
    assert plan.part_size == 6 * MiB


def test_the_largest_object_stays_within_part_limits():
    plan = plan_parts(5 * 1024**4)
    assert plan.part_count <= MAX_PARTS
    assert plan.part_size <= MAX_PART_SIZE
    assert plan.part_size * (plan.part_count - 1) + plan.part_length(plan.part_count) == 5 * 1024**4


def test_it_refuses_more_than_five_tib():
    with pytest.raises(PlanError):
        plan_parts(5 * 1024**4 + 1)


@pytest.mark.parametrize("size", [1, 5 * MiB - 1, 8 * MiB, 8 * MiB + 1, 64 * MiB, 10**10 + 7])
def test_part_lengths_add_up_to_the_size(size):
    plan = plan_parts(size)
    assert sum(lengths(plan)) == size
    assert all(length == plan.part_size for length in lengths(plan)[:-1])


def test_a_part_outside_the_plan_has_no_length():
    plan = plan_parts(20 * MiB, preferred_part_size=8 * MiB)
    with pytest.raises(PlanError):
        plan.part_length(4)
    with pytest.raises(PlanError):
        plan.part_length(0)


# --- Parts for the client's link ----------------------------------------------------------


def test_a_client_that_gives_no_round_trip_gets_the_preferred_parts():
    assert link_part_size(GiB, 8 * MiB, None) == 8 * MiB
    assert link_part_size(GiB, 8 * MiB, 0) == 8 * MiB


def test_a_nearby_client_keeps_the_preferred_parts():
    assert link_part_size(GiB, 8 * MiB, 5) == 8 * MiB


@pytest.mark.parametrize(("round_trip_ms", "part_mib"), [(40, 23), (80, 46), (150, 86)])
def test_the_farther_the_client_the_larger_its_parts(round_trip_ms, part_mib):
    assert link_part_size(GiB, 8 * MiB, round_trip_ms) == part_mib * MiB


def test_parts_for_a_link_are_never_larger_than_128_mib():
    assert link_part_size(100 * GiB, 8 * MiB, 2000) == 128 * MiB


def test_a_small_file_on_a_distant_link_still_fills_six_parts_in_flight():
    part_size = link_part_size(64 * MiB, 8 * MiB, 150)

    assert part_size == 11 * MiB
    assert plan_parts(64 * MiB, preferred_part_size=part_size).part_count == 6


def test_a_file_too_small_for_six_parts_keeps_the_preferred_size():
    assert link_part_size(20 * MiB, 8 * MiB, 150) == 8 * MiB
