using System.Net;
using HttpCache.Testing;
using Microsoft.Extensions.Time.Testing;

namespace HttpCache.Engine.Tests.Http;

/// <summary>The test origin itself: what other tests rely on it for.</summary>
public sealed class TestOriginTests(OriginFixture fixture) : IClassFixture<OriginFixture>, IDisposable
{
    private readonly TestOrigin origin = fixture.Origin;
    private readonly HttpClient client = new() { Timeout = TimeSpan.FromSeconds(30) };

    public void Dispose() => client.Dispose();

    [Fact]
    public void It_listens_on_loopback_with_a_port_of_its_own()
    {
        Assert.Equal("127.0.0.1", origin.BaseAddress.Host);
        Assert.NotEqual(0, origin.BaseAddress.Port);
        Assert.Equal(new Uri(origin.BaseAddress, "a/b?c=1"), origin.Url("/a/b?c=1"));
    }

    [Fact]
    public async Task An_unmapped_path_is_404_and_still_recorded()
    {
        var path = origin.NewPath("nothing");

        using var response = await client.GetAsync(origin.Url(path));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(1, origin.RequestCount(path));
    }

    [Fact]
    public async Task Requests_are_recorded_with_headers_query_and_body()
    {
        var path = origin.NewPath("recorded");
        origin.Respond(path, 201, new Dictionary<string, string> { ["X-Fixed"] = "yes" }, "created");
        using var request = new HttpRequestMessage(HttpMethod.Put, origin.Url(path + "?q=1")) { Content = new StringContent("payload") };
        request.Headers.TryAddWithoutValidation("X-Test", "hello");

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("yes", string.Join(",", response.Headers.GetValues("X-Fixed")));
        Assert.Equal("created", await response.Content.ReadAsStringAsync());
        var recorded = Assert.Single(origin.Requests(path));
        Assert.Equal(1, recorded.Number);
        Assert.Equal("PUT", recorded.Method);
        Assert.Equal(path, recorded.Path);
        Assert.Equal("?q=1", recorded.Query);
        Assert.Equal("hello", recorded.Header("x-test"));
        Assert.Null(recorded.Header("X-Absent"));
        Assert.Equal("payload", recorded.BodyText);
    }

    [Fact]
    public async Task The_counter_body_counts_requests_to_its_path()
    {
        var path = origin.NewPath("counter");
        origin.Map(path, OriginBehaviors.Counter());

        var bodies = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            bodies.Add(await client.GetStringAsync(origin.Url(path + "?i=" + i)));
        }

        Assert.Equal(["1", "2", "3"], bodies);
        Assert.Equal(3, origin.RequestCount(path));
    }

    [Fact]
    public async Task ETag_answers_304_when_If_None_Match_matches()
    {
        var path = origin.NewPath("etag");
        origin.Map(path, OriginBehaviors.ETag("\"v1\"", new Dictionary<string, string> { ["Cache-Control"] = "max-age=60" }));

        using var plain = await client.GetAsync(origin.Url(path));
        using var matching = new HttpRequestMessage(HttpMethod.Get, origin.Url(path));
        matching.Headers.TryAddWithoutValidation("If-None-Match", "\"other\", W/\"v1\"");
        using var notModified = await client.SendAsync(matching);
        using var different = new HttpRequestMessage(HttpMethod.Get, origin.Url(path));
        different.Headers.TryAddWithoutValidation("If-None-Match", "\"v2\"");
        using var modified = await client.SendAsync(different);

        Assert.Equal(HttpStatusCode.OK, plain.StatusCode);
        Assert.Equal("\"v1\"", plain.Headers.ETag!.ToString());
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Equal("\"v1\"", notModified.Headers.ETag!.ToString());
        Assert.Equal(TimeSpan.FromSeconds(60), notModified.Headers.CacheControl!.MaxAge);
        Assert.Empty(await notModified.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.OK, modified.StatusCode);
        Assert.Equal("3", await modified.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task LastModified_answers_304_when_not_modified_since()
    {
        var lastModified = new DateTimeOffset(2020, 1, 2, 3, 4, 5, TimeSpan.Zero);
        var path = origin.NewPath("last-modified");
        origin.Map(path, OriginBehaviors.LastModified(lastModified));

        using var plain = await client.GetAsync(origin.Url(path));
        using var same = new HttpRequestMessage(HttpMethod.Get, origin.Url(path));
        same.Headers.IfModifiedSince = lastModified;
        using var notModified = await client.SendAsync(same);
        using var older = new HttpRequestMessage(HttpMethod.Get, origin.Url(path));
        older.Headers.IfModifiedSince = lastModified.AddSeconds(-1);
        using var modified = await client.SendAsync(older);

        Assert.Equal(lastModified, plain.Content.Headers.LastModified);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Equal(HttpStatusCode.OK, modified.StatusCode);
    }

    [Fact]
    public async Task MaxAge_NoStore_and_Status_write_what_they_say()
    {
        var maxAge = origin.NewPath("max-age");
        var noStore = origin.NewPath("no-store");
        var error = origin.NewPath("error");
        origin.Map(maxAge, OriginBehaviors.MaxAge(42)).Map(noStore, OriginBehaviors.NoStore()).Map(error, OriginBehaviors.Status());

        using var a = await client.GetAsync(origin.Url(maxAge));
        using var b = await client.GetAsync(origin.Url(noStore));
        using var c = await client.GetAsync(origin.Url(error));

        Assert.Equal(TimeSpan.FromSeconds(42), a.Headers.CacheControl!.MaxAge);
        Assert.True(b.Headers.CacheControl!.NoStore);
        Assert.Equal(HttpStatusCode.InternalServerError, c.StatusCode);
        Assert.Equal("1", await c.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Expires_is_the_Date_plus_the_lifetime()
    {
        var path = origin.NewPath("expires");
        origin.Map(path, OriginBehaviors.Expires(TimeSpan.FromSeconds(90)));

        using var response = await client.GetAsync(origin.Url(path));

        Assert.Equal(response.Headers.Date + TimeSpan.FromSeconds(90), response.Content.Headers.Expires);
    }

    [Fact]
    public async Task A_given_clock_dates_the_answers()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2010, 10, 10, 10, 10, 10, TimeSpan.Zero));
        await using var dated = await TestOrigin.StartAsync(clock);
        dated.Map("/x", OriginBehaviors.Expires(TimeSpan.FromMinutes(1)));

        using var first = await client.GetAsync(dated.Url("/x"));
        clock.Advance(TimeSpan.FromHours(1));
        using var second = await client.GetAsync(dated.Url("/x"));

        Assert.Equal(clock.Start, first.Headers.Date);
        Assert.Equal(clock.Start.AddMinutes(1), first.Content.Headers.Expires);
        Assert.Equal(clock.Start.AddHours(1), second.Headers.Date);
    }

    [Fact]
    public async Task Slow_answers_late_and_stops_when_the_client_gives_up()
    {
        var path = origin.NewPath("slow");
        var ended = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var slow = OriginBehaviors.Slow(TimeSpan.FromSeconds(30));
        origin.Map(path, async context =>
        {
            await slow(context);
            ended.TrySetResult(context.RequestAborted.IsCancellationRequested);
        });
        using var cancel = new CancellationTokenSource();
        var call = client.GetAsync(origin.Url(path), cancel.Token);
        while (origin.RequestCount(path) == 0)
        {
            await Task.Delay(5);
        }

        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        // The handler ended because the client aborted, not after its 30 s (the wait below is only a hang guard).
        Assert.True(await ended.Task.WaitAsync(TimeSpan.FromSeconds(25)));
        Assert.Equal(1, origin.RequestCount(path));
    }

    [Fact]
    public async Task Slow_then_answers()
    {
        var path = origin.NewPath("slow-ok");
        origin.Map(path, OriginBehaviors.Slow(TimeSpan.FromMilliseconds(50)));

        Assert.Equal("1", await client.GetStringAsync(origin.Url(path)));
    }

    [Fact]
    public async Task Drop_aborts_the_connection()
    {
        var path = origin.NewPath("drop");
        origin.Map(path, OriginBehaviors.Drop());

        await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync(origin.Url(path)));
    }

    [Fact]
    public async Task Concurrent_requests_are_all_recorded_with_distinct_numbers()
    {
        var path = origin.NewPath("concurrent");
        origin.Map(path, OriginBehaviors.Counter());

        var bodies = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => client.GetStringAsync(origin.Url(path))));

        Assert.Equal(40, origin.RequestCount(path));
        Assert.Equal(Enumerable.Range(1, 40).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).Order(), bodies.Order());
        Assert.Equal(Enumerable.Range(1, 40), origin.Requests(path).Select(r => r.Number));
    }

    [Fact]
    public async Task Map_replaces_an_earlier_handler()
    {
        var path = origin.NewPath("replaced");
        origin.Respond(path, 200, body: "old");
        origin.Respond(path, 200, body: "new");

        Assert.Equal("new", await client.GetStringAsync(origin.Url(path)));
    }

    [Fact]
    public async Task Another_origin_starts_on_a_port_of_its_own()
    {
        await using var another = await TestOrigin.StartAsync();
        var path = another.NewPath("own");
        another.Respond(path, 200, body: "another");

        Assert.NotEqual(origin.BaseAddress, another.BaseAddress);
        Assert.Equal("another", await client.GetStringAsync(another.Url(path)));
        Assert.Equal(0, origin.RequestCount(path));
    }

    [Fact]
    public async Task A_gate_holds_requests_until_released_one_at_a_time_or_all()
    {
        var gate = new OriginGate();
        var path = origin.NewPath("gate");
        origin.Map(path, gate.Hold(OriginBehaviors.Counter()));

        var calls = Enumerable.Range(0, 3).Select(_ => client.GetStringAsync(origin.Url(path))).ToList();
        await gate.WhenHeldAsync(3);
        Assert.All(calls, c => Assert.False(c.IsCompleted));

        gate.ReleaseOne();
        var first = await Task.WhenAny(calls);
        Assert.Equal("1", await first);
        Assert.Equal(2, gate.Held);

        gate.Release();
        Assert.Equal(["1", "2", "3"], (await Task.WhenAll(calls)).Order());
        Assert.Equal("4", await client.GetStringAsync(origin.Url(path))); // open from now on
        Assert.Equal((4, 0, 3, 0), (gate.Arrived, gate.Held, gate.MostHeld, gate.Aborted));
    }

    [Fact]
    public async Task A_gate_sees_a_held_request_aborted_by_its_client()
    {
        var gate = new OriginGate();
        var path = origin.NewPath("gate-abort");
        origin.Map(path, gate.Hold(OriginBehaviors.Counter()));
        using var cancel = new CancellationTokenSource();

        var call = client.GetAsync(origin.Url(path), cancel.Token);
        await gate.WhenHeldAsync(1);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        await gate.WhenAbortedAsync(1).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal((1, 0, 1), (gate.Arrived, gate.Held, gate.Aborted));
    }
}
