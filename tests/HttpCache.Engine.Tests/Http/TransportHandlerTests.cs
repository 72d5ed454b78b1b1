using HttpCache.Engine.Http;
using HttpCache.Engine.Policy;
using HttpCache.Testing;
using Microsoft.AspNetCore.Http;

namespace HttpCache.Engine.Tests.Http;

/// <summary>
/// The transport under the cache: one pooled network handler per distinct setting, Invoke-WebRequest's
/// retries (Retry-After included) below the cache so stale-if-error comes only after them, its redirect
/// switches, and handler-level credentials keyed like an Authorization header.
/// </summary>
public sealed class TransportHandlerTests : IClassFixture<OriginFixture>
{
    private readonly TestOrigin origin;

    public TransportHandlerTests(OriginFixture fixture) => origin = fixture.Origin;

    [Fact]
    public async Task OneHandlerPerDistinctSettingNeverOnePerRequest()
    {
        await using var cache = CacheHarness.Create();
        var skip = new TransportSettings { SkipCertificateCheck = true };
        for (var i = 0; i < 4; i++)
        {
            await cache.GetAsync(origin.Url(Map(OriginBehaviors.Counter())));
            await cache.GetAsync(origin.Url(Map(OriginBehaviors.Counter())), new CacheRequestOptions { Transport = skip });

            // Equal settings built anew are the same pool entry.
            await cache.GetAsync(origin.Url(Map(OriginBehaviors.Counter())), new CacheRequestOptions { Transport = new TransportSettings { SkipCertificateCheck = true } });
        }

        Assert.Equal(2, cache.Session.Transport.PooledHandlerCount);
    }

    [Fact]
    public async Task RetriesWaitTheRetryAfterOfA429AndTheLastAnswerIsStored()
    {
        await using var cache = CacheHarness.Create();
        var path = Map(context => TestOrigin.RequestNumber(context) == 1
            ? TestOrigin.WriteAsync(context, 429, "wait", new Dictionary<string, string> { ["Retry-After"] = "30" })
            : OriginBehaviors.MaxAge(600)(context));
        var options = new CacheRequestOptions { Transport = new TransportSettings { MaximumRetryCount = 3, RetryInterval = TimeSpan.FromHours(1) } };

        var pending = cache.GetAsync(origin.Url(path), options);
        await AdvanceUntilDone(cache, pending, TimeSpan.FromSeconds(30));
        var answer = await pending;
        var again = await cache.GetAsync(origin.Url(path), options);

        Assert.Equal(200, answer.Status);
        Assert.True(again.Info.FromCache);
        Assert.Equal(2, origin.RequestCount(path));
    }

    [Fact]
    public async Task StaleIfErrorAnswersOnlyAfterEveryRetryFailed()
    {
        await using var cache = CacheHarness.Create(settings: CacheSettings.Default with { StaleIfError = TimeSpan.FromHours(1) });
        var failing = false;
        var path = Map(context => failing ? OriginBehaviors.Status(503)(context) : OriginBehaviors.MaxAge(60)(context));
        var options = new CacheRequestOptions { Transport = new TransportSettings { MaximumRetryCount = 2, RetryInterval = TimeSpan.FromSeconds(5) } };

        await cache.GetAsync(origin.Url(path), options);
        failing = true;
        cache.Clock.Advance(TimeSpan.FromSeconds(120));
        var pending = cache.GetAsync(origin.Url(path), options);
        await AdvanceUntilDone(cache, pending, TimeSpan.FromSeconds(5));
        var stale = await pending;

        Assert.Equal(CacheReason.StaleIfError, stale.Info.Reason);
        Assert.Equal(200, stale.Status);
        Assert.Equal(4, origin.RequestCount(path)); // the first fetch, then one try and two retries
    }

    [Fact]
    public async Task NoRetryWithoutARetryCount()
    {
        await using var cache = CacheHarness.Create();
        var path = Map(OriginBehaviors.Status(500));

        var answer = await cache.GetAsync(origin.Url(path));

        Assert.Equal(500, answer.Status);
        Assert.Equal(1, origin.RequestCount(path));
    }

    [Fact]
    public async Task TheCallerIdentityIsKeyedLikeACredential()
    {
        await using var cache = CacheHarness.Create();
        var path = Map(OriginBehaviors.MaxAge(600));

        var alice = await cache.GetAsync(origin.Url(path), new CacheRequestOptions { CallerIdentity = "certificate:AAAA" });
        var bob = await cache.GetAsync(origin.Url(path), new CacheRequestOptions { CallerIdentity = "certificate:BBBB" });
        var nobody = await cache.GetAsync(origin.Url(path));
        var aliceAgain = await cache.GetAsync(origin.Url(path), new CacheRequestOptions { CallerIdentity = "certificate:AAAA" });

        Assert.False(bob.Info.FromCache);
        Assert.False(nobody.Info.FromCache);
        Assert.True(aliceAgain.Info.FromCache);
        Assert.Equal(alice.Body, aliceAgain.Body);
        Assert.Equal(3, origin.RequestCount(path));
    }

    [Fact]
    public void HandlerLevelCredentialsAndCertificatesNameTheCaller()
    {
        Assert.Null(TransportSettings.Default.CallerIdentity);
        var a = new TransportSettings { Credentials = new System.Net.NetworkCredential("ada", "one") };
        var b = new TransportSettings { Credentials = new System.Net.NetworkCredential("ada", "two") };

        Assert.NotNull(a.CallerIdentity);
        Assert.NotEqual(a.CallerIdentity, b.CallerIdentity);
        Assert.DoesNotContain("one", a.CallerIdentity, StringComparison.Ordinal);
        Assert.NotEqual(a.PoolKey, b.PoolKey);
        Assert.Contains("default-credentials", new TransportSettings { UseDefaultCredentials = true }.CallerIdentity, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false, "")]
    [InlineData(true, "Bearer t")]
    public async Task AuthorizationCrossesARedirectOnlyWhenPreserved(bool preserve, string expected)
    {
        await using var cache = CacheHarness.Create();
        var target = Map(context => TestOrigin.WriteAsync(context, 200, "auth=" + context.Request.Headers.Authorization));
        var from = Map(context =>
        {
            context.Response.StatusCode = 302;
            context.Response.Headers.Location = target;
            return Task.CompletedTask;
        });
        var options = new CacheRequestOptions { Transport = new TransportSettings { PreserveAuthorizationOnRedirect = preserve } };

        var answer = await cache.GetAsync(origin.Url(from), options, "Authorization: Bearer t");

        Assert.Equal("auth=" + expected, answer.Body);
    }

    [Theory]
    [InlineData(false, "GET")]
    [InlineData(true, "POST")]
    public async Task A302TurnsAPostIntoAGetUnlessTheMethodIsPreserved(bool preserve, string expected)
    {
        await using var cache = CacheHarness.Create();
        var target = Map(context => TestOrigin.WriteAsync(context, 200, context.Request.Method));
        var from = Map(context =>
        {
            context.Response.StatusCode = 302;
            context.Response.Headers.Location = target;
            return Task.CompletedTask;
        });
        var options = new CacheRequestOptions { Transport = new TransportSettings { PreserveHttpMethodOnRedirect = preserve } };

        var answer = await cache.SendAsync(HttpMethod.Post, origin.Url(from), options, "body");

        Assert.Equal(expected, answer.Body);
    }

    [Fact]
    public async Task MaximumRedirectionZeroAnswersWithTheRedirect()
    {
        await using var cache = CacheHarness.Create();
        var target = Map(OriginBehaviors.Counter());
        var from = Map(context =>
        {
            context.Response.StatusCode = 302;
            context.Response.Headers.Location = target;
            return Task.CompletedTask;
        });

        var answer = await cache.GetAsync(origin.Url(from), new CacheRequestOptions { Transport = new TransportSettings { MaximumRedirection = 0 } });

        Assert.Equal(302, answer.Status);
        Assert.Equal(0, origin.RequestCount(target));
    }

    /// <summary>Moves the fake clock a step at a time until the retries' waits have all run out.</summary>
    private static async Task AdvanceUntilDone(CacheHarness cache, Task pending, TimeSpan step)
    {
        for (var i = 0; i < 1000 && !pending.IsCompleted; i++)
        {
            await Task.WhenAny(pending, Task.Delay(10));
            if (!pending.IsCompleted)
            {
                cache.Clock.Advance(step);
            }
        }
    }

    private string Map(RequestDelegate handler)
    {
        var path = origin.NewPath("transport");
        origin.Map(path, handler);
        return path;
    }
}
