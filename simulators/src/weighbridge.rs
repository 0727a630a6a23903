//! A truck weighbridge's indicator as a Modbus TCP server over the register map of
//! [`customs_edge_devices::weighbridge`] (read-only status block at the configured base).
//!
//! The weight moves from where it was to the target over `settle_time` with noise that
//! dies down as it settles; the stable flag is set only once it has settled, after which
//! the reading stays within ±`resolution_kg` of the target. A new reading is produced every
//! `reading_period` and `SEQUENCE` counts them. A target above `capacity_kg` sets the
//! overload flag; [`SimWeighbridge::set_fault`] sets the fault flag. The noise is a hash of
//! the reading number, so one reading reads the same however often it is polled.
//!
//! FC03 inside the status block is answered; any other range → `IllegalDataAddress`, any
//! write or other function → `IllegalFunction`, another unit id → `GatewayTargetDevice`;
//! a malformed request is answered as `modbus_device::frame` says.
//! It is served by the simulators' shared Modbus server: when `shutdown` fires it stops and
//! closes every open connection.

use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use customs_edge_devices::weighbridge::{
    STATUS_LEN, WeighFlags, WeighbridgeMap, WeighbridgeStatus,
};
use tokio::net::TcpListener;
use tokio::time::Instant;
use tokio_modbus::{ExceptionCode, Request, Response};
use tokio_util::sync::CancellationToken;

use crate::modbus_device::{self, HoldingRegisters, ModbusDevice};

/// How the simulated weighbridge behaves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeighSimConfig {
    /// Time from a new load to a settled reading.
    pub settle_time: Duration,
    /// Noise amplitude (kg) right after the load changes; it shrinks to zero as it settles.
    pub noise_kg: f64,
    /// Noise amplitude (kg) once settled: the indicator's resolution.
    pub resolution_kg: i32,
    /// Time between two readings.
    pub reading_period: Duration,
    /// Capacity; more sets the overload flag.
    pub capacity_kg: i32,
    /// Seed of the noise.
    pub seed: u64,
}

impl Default for WeighSimConfig {
    fn default() -> Self {
        Self {
            settle_time: Duration::from_secs(2),
            noise_kg: 200.0,
            resolution_kg: 10,
            reading_period: Duration::from_millis(100),
            capacity_kg: 100_000,
            seed: 1,
        }
    }
}

/// The simulated weighbridge as pure state.
#[derive(Debug, Clone)]
pub struct WeighbridgeDevice {
    config: WeighSimConfig,
    from_kg: f64,
    target_kg: i32,
    changed_at: Duration,
    fault: bool,
}

/// A value in [-1, 1] from a reading number (splitmix64).
fn noise(seed: u64, n: u64) -> f64 {
    let mut z = seed.wrapping_add(n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 52) as f64 - 1.0
}

impl WeighbridgeDevice {
    /// An empty, settled weighbridge.
    pub fn new(config: WeighSimConfig) -> Self {
        Self {
            config,
            from_kg: 0.0,
            target_kg: 0,
            changed_at: Duration::ZERO,
            fault: false,
        }
    }

    /// How far the load has settled at `t`, 0..=1.
    fn settled(&self, t: Duration) -> f64 {
        let since = t.saturating_sub(self.changed_at).as_secs_f64();
        (since / self.config.settle_time.as_secs_f64().max(1e-9)).min(1.0)
    }

    /// The load the reading would show at `t` without noise.
    fn mean_kg(&self, t: Duration) -> f64 {
        let frac = self.settled(t);
        self.from_kg + (f64::from(self.target_kg) - self.from_kg) * frac
    }

    /// Put a new load on the platform at `now` (a vehicle drives on, off, or moves).
    pub fn set_target(&mut self, now: Duration, target_kg: i32) {
        self.from_kg = self.mean_kg(now);
        self.target_kg = target_kg;
        self.changed_at = now;
    }

    /// The target load.
    pub fn target_kg(&self) -> i32 {
        self.target_kg
    }

    /// Raise or clear the indicator fault.
    pub fn set_fault(&mut self, fault: bool) {
        self.fault = fault;
    }

    /// The status block the indicator serves at `now`.
    pub fn status(&self, now: Duration) -> WeighbridgeStatus {
        let period = self.config.reading_period.as_nanos().max(1);
        let n = (now.as_nanos() / period) as u64;
        let t = Duration::from_nanos((u128::from(n) * period) as u64);
        let frac = self.settled(t);
        let stable = frac >= 1.0;
        let noise = noise(self.config.seed, n);
        let weight_kg = if stable {
            self.target_kg + (noise * f64::from(self.config.resolution_kg)).round() as i32
        } else {
            (self.mean_kg(t) + noise * self.config.noise_kg * (1.0 - frac)).round() as i32
        };
        let weight_kg = weight_kg.max(-self.config.resolution_kg);
        WeighbridgeStatus {
            sequence: n as u16,
            weight_kg,
            flags: WeighFlags {
                stable,
                overload: weight_kg > self.config.capacity_kg,
                fault: self.fault,
                zero: stable && self.target_kg == 0,
                tare: false,
            },
        }
    }
}

#[derive(Debug)]
struct Inner {
    start: Instant,
    /// A `std` mutex: held only for a state update, never across an `.await`.
    device: Mutex<WeighbridgeDevice>,
}

/// A shared handle to one simulated weighbridge.
#[derive(Debug, Clone)]
pub struct SimWeighbridge {
    inner: Arc<Inner>,
}

impl SimWeighbridge {
    /// An empty weighbridge; its clock starts now.
    pub fn new(config: WeighSimConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                start: Instant::now(),
                device: Mutex::new(WeighbridgeDevice::new(config)),
            }),
        }
    }

    /// Run `f` on the device with the time since start.
    pub fn with<R>(&self, f: impl FnOnce(&mut WeighbridgeDevice, Duration) -> R) -> R {
        let now = self.inner.start.elapsed();
        let mut device = self
            .inner
            .device
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        f(&mut device, now)
    }

    /// Put a new load (kg) on the platform; the reading settles to it.
    pub fn set_target(&self, target_kg: i32) {
        self.with(|d, now| d.set_target(now, target_kg));
    }

    /// Raise or clear the indicator fault.
    pub fn set_fault(&self, fault: bool) {
        self.with(|d, _| d.set_fault(fault));
    }

    /// The status block as served now.
    pub fn status(&self) -> WeighbridgeStatus {
        self.with(|d, now| d.status(now))
    }
}

/// Serve the weighbridge on `listener` until `shutdown` fires; then every connection is
/// closed.
pub async fn run(
    listener: TcpListener,
    scale: SimWeighbridge,
    map: WeighbridgeMap,
    shutdown: CancellationToken,
) -> io::Result<()> {
    modbus_device::serve(listener, Server { scale, map }, shutdown).await
}

/// The weighbridge as the Modbus server serves it.
struct Server {
    scale: SimWeighbridge,
    map: WeighbridgeMap,
}

impl ModbusDevice for Server {
    fn name(&self) -> &'static str {
        "weighbridge"
    }

    fn unit_id(&self) -> u8 {
        self.map.unit_id
    }

    fn functions(&self) -> &'static [u8] {
        modbus_device::READ_ONLY_FUNCTIONS
    }

    fn answer(&self, request: Request<'static>) -> Result<Response, ExceptionCode> {
        let map = self.map;
        self.scale
            .with(|device, now| modbus_device::answer(&mut Registers { device, now, map }, request))
    }
}

/// Answer one Modbus request against the weighbridge (pure: no I/O).
pub fn handle(
    device: &WeighbridgeDevice,
    now: Duration,
    map: WeighbridgeMap,
    request: &Request<'_>,
) -> Result<Response, ExceptionCode> {
    modbus_device::answer(&mut Registers { device, now, map }, request.clone())
}

/// The indicator's registers at one moment: the status block, read-only (every write
/// function is `IllegalFunction`, the shared default).
struct Registers<'a> {
    device: &'a WeighbridgeDevice,
    now: Duration,
    map: WeighbridgeMap,
}

impl HoldingRegisters for Registers<'_> {
    /// A quantity of 0 is `IllegalDataAddress` here, as this indicator has always
    /// answered (the line PLC and the gate say `IllegalDataValue`).
    fn read(&mut self, addr: u16, qty: u16) -> Result<Vec<u16>, ExceptionCode> {
        let (addr, base, n) = (
            usize::from(addr),
            usize::from(self.map.status_base),
            usize::from(qty),
        );
        if n == 0 || addr < base || addr + n > base + usize::from(STATUS_LEN) {
            return Err(ExceptionCode::IllegalDataAddress);
        }
        let off = addr - base;
        Ok(self.device.status(self.now).encode()[off..off + n].to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> WeighbridgeMap {
        WeighbridgeMap {
            unit_id: 2,
            status_base: 500,
        }
    }

    fn at(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    #[test]
    fn weight_is_unstable_while_settling_and_stable_within_resolution_after() {
        let mut d = WeighbridgeDevice::new(WeighSimConfig::default());
        d.set_target(at(1_000), 32_000);
        let moving = d.status(at(1_500));
        assert!(!moving.flags.stable);
        assert!(moving.weight_kg < 32_000 - 1_000, "{moving:?}");
        for ms in [3_000, 3_100, 9_900] {
            let s = d.status(at(ms));
            assert!(s.flags.stable, "{ms}: {s:?}");
            assert!((s.weight_kg - 32_000).abs() <= 10, "{ms}: {s:?}");
        }
    }

    #[test]
    fn sequence_changes_with_each_reading_and_one_reading_reads_the_same() {
        let mut d = WeighbridgeDevice::new(WeighSimConfig::default());
        d.set_target(Duration::ZERO, 20_000);
        assert_eq!(d.status(at(510)), d.status(at(590)));
        assert_eq!(d.status(at(610)).sequence, d.status(at(510)).sequence + 1);
    }

    #[test]
    fn overload_fault_and_zero_flags() {
        let mut d = WeighbridgeDevice::new(WeighSimConfig::default());
        assert!(d.status(at(5_000)).flags.zero);
        d.set_target(at(5_000), 150_000);
        let s = d.status(at(10_000));
        assert!(s.flags.overload && !s.flags.zero);
        assert_eq!(s.usable_weight_kg(), None);
        d.set_fault(true);
        assert!(d.status(at(10_000)).flags.fault);
    }

    #[test]
    fn reads_inside_the_block_decode_and_others_are_refused() {
        let d = WeighbridgeDevice::new(WeighSimConfig::default());
        let Ok(Response::ReadHoldingRegisters(words)) = handle(
            &d,
            at(0),
            map(),
            &Request::ReadHoldingRegisters(500, STATUS_LEN),
        ) else {
            panic!("read failed")
        };
        assert!(WeighbridgeStatus::decode(&words).is_ok());
        for (addr, qty) in [(499, 1), (503, 2), (0, 4), (500, 0)] {
            assert_eq!(
                handle(&d, at(0), map(), &Request::ReadHoldingRegisters(addr, qty)),
                Err(ExceptionCode::IllegalDataAddress),
                "{addr}+{qty}"
            );
        }
        for request in [
            Request::WriteSingleRegister(500, 1),
            Request::WriteMultipleRegisters(500, vec![1].into()),
            Request::ReadWriteMultipleRegisters(500, 1, 500, vec![1].into()),
            Request::ReadInputRegisters(500, 1),
        ] {
            assert_eq!(
                handle(&d, at(0), map(), &request),
                Err(ExceptionCode::IllegalFunction),
                "{request:?}"
            );
        }
    }
}
