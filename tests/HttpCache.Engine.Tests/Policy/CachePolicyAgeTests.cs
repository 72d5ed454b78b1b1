using HttpCache.Engine.Policy;
using static HttpCache.Engine.Tests.Policy.PolicyData;

namespace HttpCache.Engine.Tests.Policy;

/// <summary>RFC 9111 §4.2.3: corrected_initial_age and current_age.</summary>
public sealed class CachePolicyAgeTests
{
    public static TheoryData<string, int?, int?, int, double> InitialAgeCases => new()
    {
        // name, Date seconds before the response time (null: none), Age header, request sent seconds before the response, expected seconds
        { "nothing to go on: zero", null, null, 0, 0 },
        { "apparent age from Date", 10, null, 0, 10 },
        { "Date in the future (clock skew): zero", -30, null, 0, 0 },
        { "Age header alone", null, 30, 0, 30 },
        { "Age plus the response delay", null, 30, 2, 32 },
        { "response delay alone", null, null, 3, 3 },
        { "the larger: apparent age", 10, 5, 2, 10 },
        { "the larger: corrected Age", 10, 9, 2, 11 },
        { "Age with a skewed Date", -100, 4, 1, 5 },
    };

    [Theory]
    [MemberData(nameof(InitialAgeCases))]
    public void Rfc9111_4_2_3_InitialAge(string name, int? dateBefore, int? age, int sentBefore, double expectedSeconds)
    {
        using var response = Response();
        if (dateBefore is { } d)
        {
            response.Headers.Date = Now - Seconds(d);
        }

        if (age is { } a)
        {
            response.Headers.Age = Seconds(a);
        }

        Assert.Equal((name, Seconds(expectedSeconds)), (name, CachePolicy.InitialAge(response, Now - Seconds(sentBefore), Now)));
    }

    [Fact]
    public void Rfc9111_4_2_3_A_request_time_after_the_response_time_adds_no_delay()
    {
        using var response = Response();

        Assert.Equal(TimeSpan.Zero, CachePolicy.InitialAge(response, Now + Seconds(5), Now));
    }

    [Theory]
    [InlineData(0, 0, 0)]
    [InlineData(0, 60, 60)]
    [InlineData(15, 60, 75)]
    [InlineData(15, 0, 15)]
    public void Rfc9111_4_2_3_CurrentAge_is_initial_age_plus_resident_time(int initialAge, int residentSeconds, int expected)
    {
        var stored = Stored(Seconds(3600), receivedAgo: Seconds(residentSeconds), initialAge: Seconds(initialAge));

        Assert.Equal(Seconds(expected), CachePolicy.CurrentAge(stored, Now));
    }

    [Fact]
    public void Rfc9111_4_2_3_CurrentAge_never_counts_negative_resident_time()
    {
        // Stored "in the future" (the clock went back): the resident time counts as zero.
        var stored = Stored(Seconds(3600), receivedAgo: Seconds(-120), initialAge: Seconds(7));

        Assert.Equal(Seconds(7), CachePolicy.CurrentAge(stored, Now));
    }
}
