using System.Diagnostics;

namespace HttpCache.Commands.Tests.Infrastructure;

/// <summary>
/// A small tmpfs mounted on a folder (Linux, as root: the tests run as root in CI, where permission bits stop no
/// write), so that a test can make the store's file system really full or really read-only, and unmounted on
/// disposal.
/// </summary>
internal sealed class TmpfsMount : IDisposable
{
    private TmpfsMount(string path) => Path = path;

    /// <summary>The folder the tmpfs is mounted on.</summary>
    public string Path { get; }

    /// <summary>Whether this process can mount one here: Linux, as root.</summary>
    public static bool Possible => OperatingSystem.IsLinux() && Environment.UserName == "root";

    /// <summary>Mounts a tmpfs of <paramref name="size"/> (mount's notation: "64k", "4m") on <paramref name="path"/>, creating the folder.</summary>
    public static TmpfsMount Create(string path, string size)
    {
        Directory.CreateDirectory(path);
        Run("mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", path);
        return new TmpfsMount(path);
    }

    /// <summary>
    /// Makes the file system read-only. The kernel refuses while any file on it is open for writing, so every
    /// store on it must be closed first.
    /// </summary>
    public void MakeReadOnly() => Run("mount", "-o", "remount,ro", Path);

    /// <summary>Makes the file system writable again.</summary>
    public void MakeWritable() => Run("mount", "-o", "remount,rw", Path);

    public void Dispose() => Run("umount", Path);

    private static void Run(string program, params string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(program, arguments) { RedirectStandardError = true })!;
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} failed: {process.StandardError.ReadToEnd()}");
        }
    }
}
