// Choosing a city narrows the office list to its districts (without JavaScript all offices show, grouped by city).
"use strict";
(function () {
  const city = document.getElementById("city");
  const office = document.getElementById("office");
  if (!city || !office) return;
  const groups = Array.from(office.querySelectorAll("optgroup"));
  function narrow() {
    groups.forEach(function (group) {
      const shown = !city.value || group.dataset.city === city.value;
      group.hidden = !shown;
      group.disabled = !shown;
    });
    const selected = office.selectedOptions[0];
    if (!selected || selected.parentElement.disabled) {
      const first = office.querySelector("optgroup:not([disabled]) option");
      if (first) first.selected = true;
    }
  }
  city.addEventListener("change", narrow);
  office.addEventListener("change", function () {
    city.value = office.selectedOptions[0].parentElement.dataset.city;
  });
  narrow();
})();
