using System;
using System.Linq;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.LoadTest;

namespace MlnetLstm.Tests
{
    /// <summary>build/LoadTest's RSS drift: finite for every run length the load test accepts (a 90 s run printed "NaN MiB" and "drift NaN%").</summary>
    [TestClass]
    public sealed class RssDriftTests
    {
        /// <summary>One sample a second, as the load test takes them: 100 MiB, growing by 0.1 MiB a second.</summary>
        private static (double Second, long Bytes)[] Samples(int seconds)
            => Enumerable.Range(0, seconds).Select(s => (s + 0.01, (long)((100 + 0.1 * s) * 1048576))).ToArray();

        [TestMethod]
        public void NinetySecondRunComparesTheSecondAndTheLastHalfMinute()
        {
            var drift = RssDrift.Measure(Samples(90), 90);
            Assert.AreEqual(30, drift.EarlyFrom);
            Assert.AreEqual(30, drift.Width);
            Assert.AreEqual(60, drift.LateFrom);
            // Means of 100 + 0.1 s over s = 30…59 and 60…89: 104.45 and 107.45 MiB.
            Assert.AreEqual(104.45 * 1048576, drift.Early, 1);
            Assert.AreEqual(107.45 * 1048576, drift.Late, 1);
            Assert.AreEqual(3 / 104.45 * 100, drift.Percent, 1e-6);
        }

        [TestMethod]
        public void ThreeMinuteRunComparesTheSecondAndTheLastMinute()
        {
            var drift = RssDrift.Measure(Samples(180), 180);
            Assert.AreEqual(60, drift.EarlyFrom);
            Assert.AreEqual(120, drift.LateFrom);
            // Means over s = 60…119 and 120…179.
            Assert.AreEqual(108.95 * 1048576, drift.Early, 1);
            Assert.AreEqual(114.95 * 1048576, drift.Late, 1);
        }

        [TestMethod]
        [DataRow(10)]
        [DataRow(45)]
        [DataRow(121)]
        [DataRow(900)]
        public void EveryAcceptedRunLengthGivesAFiniteDrift(int seconds)
            => Assert.IsTrue(double.IsFinite(RssDrift.Measure(Samples(seconds), seconds).Percent), $"{seconds} s");

        [TestMethod]
        public void WindowWithoutSamplesIsAnErrorNamingIt()
        {
            var e = Assert.ThrowsExactly<ArgumentException>(() => RssDrift.Measure(Samples(20), 90));
            StringAssert.Contains(e.Message, "No RSS sample in the early window (30 to 60 s) of a 90 s run (20 samples from 0 to 19 s)");
        }
    }
}
