using System.Reflection;
using System.Text.RegularExpressions;

namespace HttpCache.Commands.Tests.Infrastructure;

/// <summary>Where the repo, the staged module and the built small host are, seen from the test assembly.</summary>
/// <remarks>The Infrastructure types are public, unlike the product's: xunit test classes must be public,
/// and their protected helpers take and return these types.</remarks>
public static class RepoPaths
{
    private static readonly Lazy<string> s_root = new(FindRoot);

    /// <summary>The repository root: the first folder above the test assembly holding HttpCache.sln.</summary>
    public static string Root => s_root.Value;

    /// <summary>module/: what the build stages and ships.</summary>
    public static string ModuleDirectory => Path.Combine(Root, "module");

    /// <summary>module/HttpCache.psd1, the manifest tests import.</summary>
    public static string ModuleManifest => Path.Combine(ModuleDirectory, "HttpCache.psd1");

    /// <summary>The build configuration of this test assembly (Debug/Release): the host is taken from the same one.</summary>
    public static string Configuration =>
        typeof(RepoPaths).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration is { Length: > 0 } configuration
            ? configuration
            : "Debug";

    /// <summary>tests/HttpCache.PSHost/bin/&lt;configuration&gt;/&lt;tfm&gt;/HttpCache.PSHost.dll, built with this test project.</summary>
    public static string PSHostAssembly
    {
        get
        {
            // The host and this project share a target framework; the test's own output folder is named after it.
            var tfm = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar)).Name;
            var path = Path.Combine(Root, "tests", "HttpCache.PSHost", "bin", Configuration, tfm, "HttpCache.PSHost.dll");
            if (!File.Exists(path))
            {
                throw new FileNotFoundException($"The small host is not built at '{path}'. Build the solution ('dotnet build HttpCache.sln -c {Configuration}') first.", path);
            }

            return path;
        }
    }

    /// <summary>The &lt;Version&gt; in Directory.Build.props: the one version source the manifest must carry.</summary>
    public static string BuildVersion
    {
        get
        {
            var props = File.ReadAllText(Path.Combine(Root, "Directory.Build.props"));
            var match = Regex.Match(props, @"<Version>\s*([^<\s]+)\s*</Version>");
            return match.Success ? match.Groups[1].Value : throw new InvalidOperationException("No <Version> in Directory.Build.props.");
        }
    }

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "HttpCache.sln")))
            {
                return directory.FullName;
            }
        }

        throw new DirectoryNotFoundException($"No HttpCache.sln above '{AppContext.BaseDirectory}'.");
    }
}
