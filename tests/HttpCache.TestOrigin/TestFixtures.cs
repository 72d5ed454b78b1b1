using Xunit;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace HttpCache.Testing;

/// <summary>One Kestrel origin per test class; each test takes its own path with <see cref="TestOrigin.NewPath"/>.</summary>
public sealed class OriginFixture : IAsyncLifetime
{
    private TestOrigin? _origin;

    public TestOrigin Origin => _origin ?? throw new InvalidOperationException("The origin starts in InitializeAsync.");

    public async Task InitializeAsync() => _origin = await TestOrigin.StartAsync().ConfigureAwait(false);

    public async Task DisposeAsync()
    {
        if (_origin is not null)
        {
            await _origin.DisposeAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>
/// A new folder under the temp path (HttpCache.Tests/&lt;prefix&gt;&lt;guid&gt;), deleted with everything in it on
/// disposal. Never the user's real cache folder.
/// </summary>
public sealed class TempDirectory : IDisposable
{
    /// <summary>Creates the folder.</summary>
    public TempDirectory(string prefix = "")
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "HttpCache.Tests", prefix + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    /// <summary>The folder's full path.</summary>
    public string Path { get; }

    /// <summary>A path inside the folder.</summary>
    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>The bytes of every file in the folder.</summary>
    public long Bytes() => Directory.Exists(Path)
        ? Directory.EnumerateFiles(Path, "*", SearchOption.AllDirectories).Sum(file => new FileInfo(file).Length)
        : 0;

    public void Dispose()
    {
        try
        {
            if (Directory.Exists(Path))
            {
                Directory.Delete(Path, recursive: true);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A store still open (Windows), or a folder a test made read-only: the system cleans the temp path.
        }
    }
}

/// <summary>
/// A test of a POSIX-only mechanism (signals, file modes). It is not discovered at all on Windows, rather than
/// passing there without running or showing as skipped: the suite has no skipped tests, and no silent passes.
/// </summary>
[XunitTestCaseDiscoverer("HttpCache.Testing.UnixFactDiscoverer", "HttpCache.TestOrigin")]
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class UnixFactAttribute : FactAttribute
{
}

/// <summary>Discovers a <see cref="UnixFactAttribute"/> test as a plain fact on Unix, and not at all on Windows.</summary>
public sealed class UnixFactDiscoverer(IMessageSink diagnosticMessageSink) : FactDiscoverer(diagnosticMessageSink)
{
    public override IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute) =>
        OperatingSystem.IsWindows() ? [] : base.Discover(discoveryOptions, testMethod, factAttribute);
}

/// <summary>
/// Discovers a fact only on Linux (an attribute names it with <c>[XunitTestCaseDiscoverer]</c>): for tests of a
/// Linux-only mechanism, which are then absent elsewhere rather than skipped or passing without running.
/// </summary>
public sealed class LinuxFactDiscoverer(IMessageSink diagnosticMessageSink) : FactDiscoverer(diagnosticMessageSink)
{
    public override IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute) =>
        OperatingSystem.IsLinux() ? base.Discover(discoveryOptions, testMethod, factAttribute) : [];
}

/// <summary>
/// A theory of a Linux-only mechanism (the kernel's /proc files): discovered only on Linux, so elsewhere it is absent
/// rather than skipped or passing without running.
/// </summary>
[XunitTestCaseDiscoverer("HttpCache.Testing.LinuxTheoryDiscoverer", "HttpCache.TestOrigin")]
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class LinuxTheoryAttribute : TheoryAttribute
{
}

/// <summary>Discovers a <see cref="LinuxTheoryAttribute"/> test as a plain theory on Linux, and not at all elsewhere.</summary>
public sealed class LinuxTheoryDiscoverer(IMessageSink diagnosticMessageSink) : TheoryDiscoverer(diagnosticMessageSink)
{
    public override IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo theoryAttribute) =>
        OperatingSystem.IsLinux() ? base.Discover(discoveryOptions, testMethod, theoryAttribute) : [];
}

/// <summary>
/// A test that mounts a file system (a tmpfs, then remounted read-only): it needs Linux and root. It is discovered
/// where it can run, and always in CI (CI=true), where a failure to mount fails it instead of hiding it; elsewhere
/// it is absent rather than skipped.
/// </summary>
[XunitTestCaseDiscoverer("HttpCache.Testing.MountFactDiscoverer", "HttpCache.TestOrigin")]
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class MountFactAttribute : FactAttribute
{
}

/// <summary>Discovers a <see cref="MountFactAttribute"/> test on Linux as root, and on Linux whenever CI=true.</summary>
public sealed class MountFactDiscoverer(IMessageSink diagnosticMessageSink) : FactDiscoverer(diagnosticMessageSink)
{
    public override IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute) =>
        OperatingSystem.IsLinux()
            && (Environment.UserName == "root" || string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            ? base.Discover(discoveryOptions, testMethod, factAttribute)
            : [];
}
